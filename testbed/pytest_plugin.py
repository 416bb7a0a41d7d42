"""pytest fixture `netflow_lab`: build a lab, drive it from the test, always tear it down.

    @pytest.mark.root
    def test_udp_is_counted(netflow_lab):
        lab = netflow_lab("topologies/quickstart.yaml")      # a lab file, or the same as a dict
        lab.run_step({"kind": "udp", "from": "h1", "to": "h2", "dport": 5000, "packets": 10})
        (rec,) = lab.records(dport=5000)     # flushes the probes, waits for the collector
        assert rec.packets == 10 and rec.input == lab.ifindex("r1:eth0")
        lab.assert_passed([{"name": "counted", "kind": "conservation"}])

The lab is built when `netflow_lab(...)` is called, with its collectors and
probes running, and torn down after the test whatever happens (as
`python -m testbed run` does: the same `Session` underneath). Steps and
checks are the mappings of a lab file's `traffic:` and `expect:`, validated
against the lab the same way. `netflow_lab(LAB, exporter="softflowd")` (or
"softflowd@9") runs every probe as that kind, as `run --exporter` does.

Needs root: without it the fixture skips the test, or fails it with
`--lab-require-root` (for CI, where a skipped lab test must not pass silently).
The plugin registers the `root` marker (`--strict-markers` users need nothing
more) and marks every test that uses the fixture with it (`-m "not root"`).

`pytest --lab-artifacts DIR` keeps each lab's artifacts (records, statistics,
captures, logs, each exporter run's argv and config files, report.html) in
DIR/<test name>/, as `python -m testbed run --artifacts`.

Registered for every pytest run of this environment through the `pytest11`
entry point `netflow_lab = "testbed.pytest_plugin"` (see pyproject.toml).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable

import pytest

from .schema.printable import printable


MARKERS = {"root": "needs root, network namespaces and veths (every test using the netflow_lab fixture)"}


def pytest_addoption(parser) -> None:
    group = parser.getgroup("netflow_lab")
    group.addoption("--lab-artifacts", metavar="DIR", default=None,
                    help="netflow_lab: keep each lab's records, statistics, captures and logs "
                         "in DIR/<test name>/")
    group.addoption("--lab-require-root", action="store_true", default=False,
                    help="netflow_lab: fail a lab test that cannot run for want of root, instead of skipping it")


def pytest_configure(config) -> None:
    for name, what in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {what}")


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if "netflow_lab" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.root)


class NetflowLab:
    """One built lab, driven step by step. Made by the `netflow_lab` fixture."""

    def __init__(self, source: str | os.PathLike | dict, *, base_dir: Path | None = None,
                 artifacts: Path | None = None, extra_probe_args: tuple[str, ...] = (),
                 exporter: str | None = None, say: Callable[[str], None] = print) -> None:
        from .exporters import parse_exporter
        from .topology import read_lab
        if exporter is not None:
            parse_exporter(exporter)  # ValueError: an unknown kind or a version it does not export
        if isinstance(source, dict):
            import yaml  # a dict is read as the same lab file would be
            text = yaml.safe_dump(source, sort_keys=False)
            self.source, self.base_dir = "<dict>", base_dir or Path.cwd()
        else:
            path = Path(source)
            text, self.source, self.base_dir = path.read_text(), str(path), base_dir or path.parent
        self.topology, self._known = read_lab(text, source=self.source, base_dir=self.base_dir, exporter=exporter)
        self.flushed: list[str] = []  # what the last flush did, one line per exporter (records())
        self._steps_run = 0
        self.artifacts = artifacts
        self.say = say
        self._extra = tuple(extra_probe_args)
        self.session = None

    # -- lifecycle ----------------------------------------------------------
    def start(self) -> "NetflowLab":
        from .report import artifacts as A
        from .run.session import Session
        work = caps = None
        if self.artifacts is not None:
            work, caps = self.artifacts / A.WORKDIR, self.artifacts / A.PCAPS
        self.session = Session(self.topology, say=self.say, workdir=work, capture_dir=caps,
                               extra_probe_args=self._extra)
        self.session.start()
        return self

    def close(self) -> None:
        """Stop probes, collectors and captures, tear the lab down; write artifacts if asked."""
        if self.session is None:
            return
        session, self.session = self.session, None
        try:
            session.close()
        finally:
            if self.artifacts is not None:
                from .report import artifacts as A
                from .run.runner import result_of
                A.write(result_of(session), self.artifacts)

    # -- the lab ------------------------------------------------------------
    @property
    def lab(self):
        """The `testbed.lab.Lab` (nodes, link_down/up, route, ...)."""
        return self._live().lab

    @property
    def run_id(self) -> str:
        return self._live().run_id

    def node(self, name: str):
        """A `LabNode`: `.run(argv)`, `.cmd(line)`, `.popen(argv)` inside the node."""
        return self._live().lab.node(name)

    def address(self, node: str) -> str:
        return str(self.topology.address_of(node))

    def ifindex(self, ref: str, probe: str | None = None) -> int:
        """What the probe exports for interface `ref` ('r1:eth0'): the kernel's ifindex,
        or its stand-in when it does not fit in 16 bits (`probe`: default, the one on its router)."""
        if probe is None:
            probe = next((e.name for e in self._live().plan.exporters.values() if ref in e.facts.ifindexes), None)
            if probe is None:
                raise KeyError(f"no probe runs on the router of {ref!r}")
        return self._exporter(probe).facts.ifindexes[ref]

    # -- traffic ------------------------------------------------------------
    def run_step(self, step: dict):
        """Run one step, written as in a lab file's `traffic:` (a mapping with kind:).
        Returns its StepResult (summary, end time, the flows it sent)."""
        from .topology import read_steps
        session = self._live()
        if not isinstance(step, dict):
            raise TypeError(f"a step is a mapping with kind:, got {step!r}")
        (parsed,) = read_steps(self._known, [step], self._steps_run,
                               f"{self.source} (step {step.get('kind')})")
        result = session.run_step(parsed, of=0)
        self._steps_run += 1
        if parsed.name:  # later checks may name it (after:, step:)
            self._known.step_names |= {parsed.name}
        return result

    def run_traffic(self) -> None:
        """Run the lab file's own `traffic:` steps, in order."""
        from dataclasses import replace
        for step in self.topology.traffic:
            self._live().run_step(replace(step, index=self._steps_run), of=0)
            self._steps_run += 1

    # -- what came out ------------------------------------------------------
    def records(self, flush: bool = True, **where: Any) -> list:
        """Collector records (testbed.collector.FlowRecord) of every collector so far.

        flush=True (default) first makes every probe send what its cache holds and
        waits until the collectors have it; after `stop()` it is everything. How
        depends on the kind, and `self.flushed` says it per probe:
        * ours (netflow-lab) is asked over its control socket and keeps running;
        * the others (softflowd, pmacctd, fprobe, a command) cannot be asked: each is
          stopped as its kind stops it (it flushes, as far as that kind does: softflowd
          never reads its last capture block) and started again - a restart, so the
          lab's checks then expect one sequence reset of it per flush;
        * a command that exits by itself (start: {exits: true}) is waited for.
        `where` filters on record fields: `records(dport=5000, proto=17)`, or a
        predicate: `records(packets=lambda n: n > 1)`."""
        out = []
        for res in self._results(flush).values():
            out += res.find(**where)
        return out

    def collector_result(self, name: str | None = None, flush: bool = True):
        """One collector's `CollectorResult` (records, datagrams, sequence report, findings);
        flush as `records()` does."""
        results = self._results(flush)
        return results[name] if name else next(iter(results.values()))

    def stats(self, probe: str | None = None) -> dict:
        """The probe's counters (`python -m probe ctl PATH stats`)."""
        return self._probe(probe).stats()

    def ctl(self, command: str | list[str], probe: str | None = None) -> dict:
        """A control request: 'stats', 'show', 'flush', 'timeouts 5 30'."""
        words = command.split() if isinstance(command, str) else list(command)
        return self._probe(probe).ctl(words)

    def stop(self):
        """Stop the probes (they flush), then the collectors: `records()` is final after this."""
        return self._live().stop()

    def verdicts(self, checks: list[dict] | None = None) -> list:
        """Evaluate `checks` (mappings as in a lab file's `expect:`; default: the file's own).
        Waits for timed checks as a run does, then stops the probes (they flush)."""
        from .topology import read_checks
        session = self._live()
        parsed = (self.topology.expect if checks is None
                  else read_checks(self._known, list(checks), f"{self.source} (checks)"))
        session.wait_for_exports(parsed)
        return session.verdicts(parsed)

    def assert_passed(self, checks: list[dict] | None = None) -> list:
        """verdicts(); AssertionError listing each failed check with what differed."""
        found = self.verdicts(checks)
        failed = [v for v in found if not v.passed]
        if failed or not found:
            lines = [f"{len(failed)} of {len(found)} checks failed in lab {self.topology.name}:"]
            for v in failed:
                lines.append(f"  {v.name} ({v.kind}): " + "; ".join(v.problems))
                if v.hint:
                    lines.append(f"    > {v.hint.strip()}")
            raise AssertionError(printable("\n".join(lines)) if found else "there are no checks to pass")
        return found

    # -- helpers ------------------------------------------------------------
    def _results(self, flush: bool) -> dict:
        """Every collector's result, after a flush of every exporter if asked (`self.flushed`)."""
        session = self._live()
        self.flushed = session.flush() if flush else []
        return session.collector_results()

    def _live(self):
        if self.session is None:
            raise RuntimeError("the lab is not running (closed, or start() not called)")
        return self.session

    def _probe(self, name: str | None):
        return self._live().probe(self._exporter(name).name)

    def _exporter(self, name: str | None):
        """The plan of probe `name` (None: the lab's only one)."""
        exporters = self._live().plan.exporters
        if name is None:
            if len(exporters) != 1:
                raise ValueError(f"say which probe ({', '.join(exporters)})")
            return next(iter(exporters.values()))
        return exporters[name]


def _folder_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1]).strip("_")[:100] or "lab"


@pytest.fixture
def netflow_lab(request):
    """netflow_lab(lab_file_or_dict, *, exporter=None, extra_probe_args=()) -> a running NetflowLab.

    `exporter`: KIND or KIND@VERSION runs every probe as that kind (`run --exporter`).
    Every lab the test builds is torn down after it, pass or fail."""
    if os.geteuid() != 0:
        why = "netflow_lab needs root (network namespaces, veths, raw sockets)"
        if request.config.getoption("--lab-require-root", default=False):
            pytest.fail(f"{why}; --lab-require-root: not skipped", pytrace=False)
        pytest.skip(why)
    made: list[NetflowLab] = []
    keep = request.config.getoption("--lab-artifacts", default=None)

    def build(source, *, exporter: str | None = None, extra_probe_args: tuple[str, ...] = (),
              base_dir: Path | None = None) -> NetflowLab:
        if not isinstance(source, dict):
            path = Path(source)
            if not path.is_absolute() and not path.exists():
                path = Path(request.config.rootpath) / path
            source = path
        artifacts = None
        if keep:
            artifacts = Path(keep) / _folder_name(request.node.nodeid)
            if made:
                artifacts = artifacts.with_name(f"{artifacts.name}.{len(made) + 1}")
        lab = NetflowLab(source, base_dir=base_dir, artifacts=artifacts,
                         extra_probe_args=extra_probe_args, exporter=exporter)
        made.append(lab)
        return lab.start()

    try:
        yield build
    finally:
        errors = []
        for lab in reversed(made):
            try:
                lab.close()
            except Exception as exc:  # close the others all the same
                errors.append(exc)
        if errors:
            raise errors[0]
