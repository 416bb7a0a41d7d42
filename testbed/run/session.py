"""A run of one lab: its plan built and started, steps in, verdicts out.

`with Session(topology) as s:` reserves a run id and a workdir, resolves the
run's plan there (testbed/plan/), builds the lab it describes and starts its
collectors, taps and exporters; traffic steps run one at a time (`run_step`);
`verdicts()` stops the exporters (they flush) and judges the checks; leaving
the `with` always tears everything down. `python -m testbed run` (runner.Run)
and the pytest fixture drive the same Session. The time each phase took is
kept in `phases`.
"""
from __future__ import annotations

import time
from pathlib import Path

from ..expect.context import Context
from ..expect.verdict import Verdict
from ..lab import STATE_DIR, Lab
from ..lab.remote import ServerLost
from ..plan import RunPlan, resolve
from ..exporters import netflow_lab
from ..exporters.options import collisions
from ..traffic.step import StepResult
from .captures import stop_captures
from .exporters import ExporterService
from .judge import contexts, judge_checks, service_verdicts
from .observe import Observer
from .running import Record, Running
from .services import CollectorService, start_all, stop_all
from .settle import RoutesSettle
from .startup import start_services
from .taps import TapService
from .waits import wait_for_exports

PHASES = ("build", "start", "traffic", "wait", "stop", "teardown")


class Session:
    """Also the `Env` a step runs in (traffic/step.py): lab, workdir, probe(), collector(),
    taps_of(), restarted(), routes_settle()."""

    def __init__(self, topology, *, say=print, workdir: Path | None = None,
                 capture_dir: Path | None = None, extra_probe_args: tuple[str, ...] = (),
                 run_id: str | None = None, state_dir: Path = STATE_DIR) -> None:
        flags = netflow_lab.flags  # --probe-arg words go to our probe: the checks must know what it sets as data
        for _, flag, instead in collisions(tuple(extra_probe_args), flags, flags.sets)[:1]:
            raise ValueError(f"{flag} is set by the {netflow_lab.name} kind: {instead} in the lab file")
        self.topo = topology
        self.say = say
        self.capture_dir = capture_dir.absolute() if capture_dir else None  # tcpdump runs in a node
        self.probe_args = tuple(extra_probe_args)
        self.lab = Lab(topology, run_id=run_id, workdir=workdir, state_dir=state_dir)
        self.plan: RunPlan | None = None  # once started
        self.running = Running()
        self.record = Record()
        self.observer: Observer | None = None
        self.routes: dict[str, tuple] = {}  # router -> its table when the run stopped (for messages)
        self.phases: dict[str, float] = {}
        self.began = time.time()
        self.last_verdicts: list[Verdict] = []  # the last evaluation: the run's result
        self.lost: str | None = None  # a server stopped answering: why (the run fails with it)
        self.build_calls: dict[str, int] = {}  # server -> agent round trips when the lab was built
        self._stopped = False
        self.traffic_ended = 0.0  # unix time the last step ended

    # -- lifecycle ----------------------------------------------------------
    def __enter__(self) -> "Session":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> "Session":
        self.began = t0 = time.time()
        # cleans up after itself if the build fails
        self.lab.start(lambda workdir, run_id: resolve(self.topo, workdir, self.probe_args, run_id))
        self.plan = self.lab.plan
        self.observer = Observer(self.plan, self.running, self.say)
        self.phases["build"] = time.time() - t0
        self.build_calls = {name: server.calls for name, server in self.lab.servers.items()}
        try:
            start_services(self.plan, self.lab, self.running, self.say, self.capture_dir)
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

    def stop(self) -> dict:
        """Stop the exporters (each flushes its cache), then the taps, collectors and captures. Once."""
        if self._stopped:
            return self.observer.final
        self._stopped = True
        t0 = time.time()
        r = self.running
        try:
            self.routes = {e.node: read_routes(self.lab, e.node) for e in self.plan.exporters.values()}
            self._let_them_read(r.exporters.values())
            stop_all(list(r.exporters.values()))
            for tap in r.taps.values():
                tap.stop()
            finals = {name: c.stop() for name, c in r.collectors.items()}
            self.observer.final = {name: res for name, res in finals.items() if res is not None}
            for n in r.nfcapds.values():
                n.stop()
            for server in self.lab.servers.values():  # logs, statistics, records: here, for the report
                server.pull_all()
        finally:
            stop_captures(r.captures)
        self.phases["stop"] = time.time() - t0
        self.say("[stop]  probes flushed, collectors stopped")
        if self.lab.servers:  # what the servers cost (docs/scale.md)
            t = self.lab.timings
            self.say(f"[ssh]   build: servers connected in {t.get('connect', 0):.2f} s, node shells started in "
                     f"{t.get('shells', 0):.2f} s")
        for name, server in self.lab.servers.items():
            nodes = sum(1 for n in self.lab.all_nodes() if n.host is server)
            self.say(f"[ssh]   server {name}: {nodes} nodes (an SSH session each), agent round trips: "
                     f"{self.build_calls.get(name, 0)} to build, {server.calls} in all")
        for name, heard in self.observer.foreign().items():
            self.say(f"        collector {name} also heard " + ", ".join(
                f"{a} ({n} datagrams, {r} records)" for a, (n, r) in heard.items())
                + ": no exporter of the lab, not judged")
        return self.observer.final

    def lost_verdict(self, exc: ServerLost) -> Verdict:
        """The run's verdict when a server stopped answering: it fails, whatever came before."""
        self.lost = str(exc)
        alive = [n for n, s in self.lab.servers.items() if not s.lost]
        return Verdict("every server answered until the end", "server", False, "", (str(exc),),
                       "the run stopped there and tore the lab down on the servers that answer"
                       + (f" ({', '.join(alive)})" if alive else "") + "; the lost server's agent stops what runs "
                       "there once it misses this machine (`python -m testbed clean` tries again)")

    def close(self) -> None:
        """Stop everything that runs, tear the lab down. Safe to call twice."""
        t0 = time.time()
        r = self.running
        try:
            if not self._stopped and self.lab.state is not None:
                for x in r.exporters.values():
                    _quietly(x.stop)
                for tap in r.taps.values():
                    _quietly(tap.stop)
                for c in r.collectors.values():
                    _quietly(c.stop)
                for n in r.nfcapds.values():
                    _quietly(n.close)
                stop_captures(r.captures)
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
        self.traffic_ended = result.ended
        self.record.add(step, result)
        for server in self.lab.servers.values():  # a server lost during the step fails the run now
            server.alive()
        for c in self.running.collectors.values():  # before the line: what dies after it, died later
            c.watch(f"after step {step.index + 1} {step.kind}" + (f" {step.name}" if step.name else ""))
        self.say(f"{label}: {result.summary} ({result.ended - t0:.1f} s)")
        return result

    def probe(self, name: str) -> ExporterService:
        return self.running.exporters[name]

    def collector(self, name: str) -> CollectorService:
        return self.running.collectors[name]

    def taps_of(self, probe: str) -> list[TapService]:
        return self.running.taps_of(probe)

    def restarted(self, name: str) -> None:
        self.record.restarts[name] += 1

    def routes_settle(self, nodes: set[str]) -> RoutesSettle:
        return RoutesSettle(self.running.exporters, nodes, self.say)

    # -- results ------------------------------------------------------------
    def contexts(self) -> dict[str, Context]:
        """What each exporter's checks know now (frozen; after stop(): everything)."""
        return contexts(self.plan, self.running, self.record, self.observer if self._stopped else None,
                        self.routes)

    def wait_for_exports(self, checks=None) -> float:
        """Wait as long as the timed checks (exported_within) need, no longer."""
        checks = self.topo.expect if checks is None else checks
        ctxs = self.contexts()

        def snapshot():  # one read of the collectors per poll; each check sees its probe's records
            for c in self.running.collectors.values():
                c.watch("while waiting for timed exports")
            results = self.observer.results()
            return lambda check: getattr(self.observer.of_probe(check.probe, results), "find", list)()
        waited = wait_for_exports(checks, lambda c: ctxs[c.probe], snapshot, self.say)
        self.phases["wait"] = self.phases.get("wait", 0.0) + waited
        return waited

    def collector_results(self) -> dict:
        """What each collector has received so far (all of it, once stopped; `flush()` first
        for what the exporters still hold)."""
        return self.observer.results()

    def flush(self) -> list[str]:
        """Make every running exporter send what its cache holds, and wait until the
        collectors have it; one line per exporter says how (also printed):
        * ours is asked over its control socket (`flush`): it keeps running;
        * a kind without one cannot be asked: it is stopped as its kind stops it (it flushes,
          as far as it can: softflowd never reads its last ring block, docs/exporters.md)
          and started again: a restart, so its checks expect one sequence reset for it;
        * one that exits by itself (start: exits) is waited for, not started again.
        Once the run stopped, everything was flushed already: nothing to do."""
        if self._stopped:
            return []
        said, again = [], []
        for name, x in self.running.exporters.items():
            if x.controls and x.running:
                said.append(f"{name}: flushed over its control socket")
            elif x.launch_now.exits:
                said.append(f"{name} ({x.plan.kind}): exits by itself: waited for its end")
            elif x.running:
                said.append(f"{name} ({x.plan.kind}): no control socket: stopped (it flushed) and started again")
                again.append(x)
        self._let_them_read(again)
        stop_all([x for x in self.running.exporters.values() if x in again or x.launch_now.exits])
        self.observer.flush()  # the control sockets; then what the stopped ones sent
        if not self.observer.settle():
            self.say("        (a collector was still receiving when the flush stopped waiting)")
        start_all(again)
        for x in again:
            self.restarted(x.name)
        for line in said:
            self.say(f"[flush] {line}")
        return said

    def verdicts(self, checks=None) -> list[Verdict]:
        """Stop (exporters flush) and evaluate `checks` (default: the lab file's expect:)."""
        checks = self.topo.expect if checks is None else checks
        self.stop()
        self.last_verdicts = judge_checks(checks, self.observer, self.contexts()) + service_verdicts(self.running)
        return self.last_verdicts

    def _let_them_read(self, exporters) -> None:
        """Before stopping them: until the packets the last step sent may have reached each
        exporter from its capture ring (its claimed capture delay: libpcap's read timeout);
        stopped sooner, it would never count them."""
        delay = max((x.plan.claims.capture_delay_s for x in exporters if x.running), default=0.0)
        wait = self.traffic_ended + delay - time.time()
        if wait > 0:
            time.sleep(wait)


def read_routes(lab, node: str) -> tuple[tuple[str, str, str], ...]:
    """A router's routing table as (prefix, via, dev) rows, for messages."""
    table = []
    for route in lab.node(node).routes():
        prefix = "0.0.0.0/0" if route.get("dst") == "default" else route.get("dst", "")
        if "/" not in prefix:
            prefix += "/32"
        table.append((prefix, route.get("gateway", ""), route.get("dev", "") or route.get("type", "")))
    return tuple(table)


def _quietly(fn) -> None:
    try:
        fn()
    except Exception:  # already on the way out: the lab's teardown stops what is left
        pass
