"""A built lab with its collectors and probes running: steps in, verdicts out.

`with Session(topology) as s:` builds the lab and starts every collector and
probe; traffic steps run one at a time (`run_step`); `verdicts()` stops the
probes (they flush) and judges the checks; leaving the `with` always tears
everything down. `python -m testbed run` (runner.Run) and the pytest fixture
drive the same Session. The time each phase took is kept in `phases`.
"""
from __future__ import annotations

import time
from pathlib import Path

from ..expect.context import Context
from ..expect.verdict import Verdict
from ..lab import STATE_DIR, Lab
from ..topology.probes import TYPED_OPTIONS
from ..traffic.step import StepResult
from .captures import stop_captures
from .context import refresh_routes
from .exporters import ExporterService
from .judge import judge_checks
from .nfcapds import NfcapdService
from .observe import Observer
from .services import CollectorService, ProbeService, stop_all
from .settle import RoutesSettle
from .startup import start_services
from .taps import TapService
from .waits import wait_for_exports

PHASES = ("build", "start", "traffic", "wait", "stop", "teardown")


class Session:
    """Also the `Env` a step runs in (traffic/step.py): lab, workdir, probe(),
    restarted(), routes_settle()."""

    def __init__(self, topology, *, say=print, workdir: Path | None = None,
                 capture_dir: Path | None = None, extra_probe_args: tuple[str, ...] = (),
                 run_id: str | None = None, state_dir: Path = STATE_DIR) -> None:
        typed = [a for a in extra_probe_args if a.split("=", 1)[0] in TYPED_OPTIONS]
        if typed:  # the checks must know these as data
            raise ValueError(f"{typed[0]} is a probe field in the lab file: "
                             f"{TYPED_OPTIONS[typed[0].split('=', 1)[0]]}")
        self.topo = topology
        self.say = say
        self.capture_dir = capture_dir.absolute() if capture_dir else None  # tcpdump runs in a node
        self.extra = tuple(extra_probe_args)
        self.lab = Lab(topology, run_id=run_id, workdir=workdir, state_dir=state_dir)
        self.collectors: dict[str, CollectorService] = {}  # reference collectors
        self.nfcapds: dict[str, NfcapdService] = {}  # nfcapd beside them
        self.probes: dict[str, ProbeService | ExporterService] = {}
        self.contexts: dict[str, Context] = {}  # probe name -> what its checks know
        self.captures: list = []
        self.taps: dict[tuple[str, str], TapService] = {}  # (probe, collector) -> its tap
        self.observer = Observer(topology, self.collectors, self.probes, say)
        self.phases: dict[str, float] = {}
        self.deaf: dict[str, list[str]] = {}  # probe -> its exports that nothing listens to
        self.began = time.time()
        self._verdicts: list[Verdict] = []
        self._stopped = False

    # -- lifecycle ----------------------------------------------------------
    def __enter__(self) -> "Session":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> "Session":
        self.began = t0 = time.time()
        self.lab.start()  # cleans up after itself if the build fails
        self.phases["build"] = time.time() - t0
        try:
            start_services(self)
        except BaseException:
            self.close()
            raise
        self.phases["start"] = time.time() - t0 - self.phases["build"]
        return self

    @property
    def run_id(self) -> str:
        return self.lab.run_id or ""

    @property
    def workdir(self) -> Path:
        return self.lab.workdir

    @property
    def ctx(self) -> Context:
        """The first probe's context (traffic truth and step times are shared by all)."""
        if not self.contexts:
            self.contexts[""] = Context()  # a lab without probes: truth and step times only
        return next(iter(self.contexts.values()))

    def stop(self) -> dict:
        """Stop the probes (each flushes its cache), then the collectors and captures. Once."""
        if self._stopped:
            return self.observer.final
        self._stopped = True
        t0 = time.time()
        try:
            for ctx in self.contexts.values():
                if ctx.probe_router:
                    refresh_routes(self.lab, ctx)  # the table as the run left it, for messages
            stop_all(list(self.probes.values()))
            for tap in self.taps.values():
                tap.stop()
            finals = {name: c.stop() for name, c in self.collectors.items()}
            self.observer.final = {name: r for name, r in finals.items() if r is not None}
            for n in self.nfcapds.values():
                n.stop()
        finally:
            stop_captures(self.captures)
        self.phases["stop"] = time.time() - t0
        self.say("[stop]  probes flushed, collectors stopped")
        return self.observer.final

    def close(self) -> None:
        """Stop everything that runs, tear the lab down. Safe to call twice."""
        t0 = time.time()
        try:
            if not self._stopped and self.lab.state is not None:
                for p in self.probes.values():
                    _quietly(p.stop)
                for tap in self.taps.values():
                    _quietly(tap.stop)
                for c in self.collectors.values():
                    _quietly(c.stop)
                for n in self.nfcapds.values():
                    _quietly(n.close)
                stop_captures(self.captures)
        finally:
            self.lab.close()
            self.phases.setdefault("teardown", time.time() - t0)

    # -- traffic (and the Env of a step) -------------------------------------
    def run_traffic(self, steps=None) -> None:
        steps = self.topo.traffic if steps is None else steps
        t0 = time.time()
        for step in steps:
            self.run_step(step, of=len(steps))
        self.phases["traffic"] = self.phases.get("traffic", 0.0) + time.time() - t0

    def run_step(self, step, of: int | None = None) -> StepResult:
        """Run one traffic step and print its progress line (`[3/5] udp NAME: ...`;
        of=0: `[3] udp NAME: ...`, for steps given one by one)."""
        t0 = time.time()
        of = len(self.topo.traffic) if of is None else of
        label = f"[{step.index + 1}{f'/{of}' if of else ''}] {step.kind}" + (
            f" {step.name}" if step.name else "")
        result = step.run(self)
        truth = self.ctx.truth
        for fid, t in result.truth.items():
            old = truth.get(fid)
            if old is None:
                truth[fid] = t
            else:  # the same flow again in a later step: add up
                old.merge(t)
        if step.name:
            self.ctx.step_times[step.name] = result.ended
            self.ctx.step_index[step.name] = step.index
        self.say(f"{label}: {result.summary} ({result.ended - t0:.1f} s)")
        for c in self.collectors.values():
            c.watch(f"after step {step.index + 1} {step.kind}" + (f" {step.name}" if step.name else ""))
        return result

    def probe(self, name: str) -> ProbeService:
        return self.probes[name]

    def collector(self, name: str) -> CollectorService:
        return self.collectors[name]

    def taps_of(self, probe: str) -> list[TapService]:
        return [t for (p, _), t in self.taps.items() if p == probe]

    def restarted(self, name: str) -> None:
        self.contexts[name].restarts += 1

    def routes_settle(self, nodes: set[str]) -> RoutesSettle:
        return RoutesSettle(self.probes, nodes, self.say)

    # -- results ------------------------------------------------------------
    def wait_for_exports(self, checks=None) -> float:
        """Wait as long as the timed checks (exported_within) need, no longer."""
        checks = self.topo.expect if checks is None else checks

        def snapshot():  # one read of the collectors per poll; each check sees its probe's records
            for c in self.collectors.values():
                c.watch("while waiting for timed exports")
            results = self.observer.results()
            return lambda check: getattr(self.observer.of_probe(check.probe, results), "find", list)()
        waited = wait_for_exports(checks, lambda c: self.contexts.get(c.probe or "", self.ctx),
                                  snapshot, self.say)
        self.phases["wait"] = self.phases.get("wait", 0.0) + waited
        return waited

    def collector_results(self, flush: bool = False) -> dict:
        """What each collector has received so far (all of it, once stopped).

        flush=True first asks every running probe to expire its flows and send
        them now, and waits until they reached the collectors."""
        if flush and not self._stopped:
            self.observer.flush()
        return self.observer.results()

    def verdicts(self, checks=None) -> list[Verdict]:
        """Stop (probes flush) and evaluate `checks` (default: the lab file's expect:)."""
        checks = self.topo.expect if checks is None else checks
        self.stop()
        out = judge_checks(self, checks)
        self._verdicts = out  # the last evaluation is the run's result
        return out


def _quietly(fn) -> None:
    try:
        fn()
    except Exception:  # already on the way out: the lab's teardown stops what is left
        pass
