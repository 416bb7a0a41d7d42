"""One lab run: build -> collectors -> probes -> traffic -> wait -> stop -> verdicts.

`Session` is a built lab with its collectors and probes running: traffic steps
go in one at a time, records and verdicts come out, and `close()` (or the end
of `with`) always tears everything down. `Run` drives a Session through a lab
file for `python -m testbed run`; the pytest plugin (testbed/pytest_plugin.py)
drives one step by step. There is no other copy of this loop.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from probe.live.ctl import CtlError

from ..collector import load_jsonl
from ..collector.result import CollectorResult
from ..expect.checks import evaluate
from ..expect.context import Context
from ..expect.verdict import Verdict
from ..lab import STATE_DIR, Lab
from . import traffic as T
from .captures import start_captures, stop_captures
from .context import build_context, refresh_routes
from .quiet import quiet_hosts
from .services import CollectorService, ProbeService
from .waits import wait_for_exports

CRAFTED = {"tcp", "udp", "icmp", "fragments", "scan"}
ROUTE_SETTLE_S = 2.0  # at most this long for a probe to reload its routes after a change
SETTLE_S = 5.0  # at most this long for flushed records to reach the collectors


@dataclass
class RunResult:
    lab: str
    verdicts: list[Verdict] = field(default_factory=list)
    collectors: dict = field(default_factory=dict)  # name -> CollectorResult
    probe_logs: dict = field(default_factory=dict)  # name -> [stdout of each probe run]
    probe_stats: dict = field(default_factory=dict)  # name -> [`stats` of each run, before it stopped]
    truth: dict = field(default_factory=dict)
    workdir: Path | None = None
    captures: list[Path] = field(default_factory=list)  # pcaps (when the run kept artifacts)
    run_id: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.verdicts) and all(v.passed for v in self.verdicts)


class Session:
    """A built lab with collectors and probes running. Use as `with Session(topo) as s:`."""

    def __init__(self, topology, *, say=print, workdir: Path | None = None,
                 capture_dir: Path | None = None, extra_probe_args: tuple[str, ...] = (),
                 run_id: str | None = None, state_dir: Path = STATE_DIR) -> None:
        self.topo = topology
        self.say = say
        self.workdir, self.capture_dir = workdir, capture_dir
        self.extra = tuple(extra_probe_args)
        self.run_id, self.state_dir = run_id, state_dir
        self.lab: Lab | None = None
        self.collectors: dict[str, CollectorService] = {}
        self.probes: dict[str, ProbeService] = {}
        self.contexts: dict[str, Context] = {}  # probe name -> what its checks know
        self.captures: list = []
        self.observed: dict[str, CollectorResult] = {}  # once stopped
        self.began = time.time()
        self._verdicts: list[Verdict] = []
        self._stopped = False

    # -- lifecycle ----------------------------------------------------------
    def __enter__(self) -> "Session":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> "Session":
        self.began = time.time()
        self.lab = Lab(self.topo, run_id=self.run_id, workdir=self.workdir, state_dir=self.state_dir)
        self.lab.start()  # cleans up after itself if the build fails
        try:
            self._start_services()
        except BaseException:
            self.close()
            raise
        return self

    def _start_services(self) -> None:
        lab, topo = self.lab, self.topo
        self.run_id = lab.run_id
        quiet_hosts(lab)
        self.say(f"[build] lab {topo.name}: {len(topo.nodes)} nodes, {len(topo.links)} links "
                 f"(run {lab.run_id})")
        specs = [replace(s, args=tuple(s.args) + self.extra) if self.extra else s
                 for s in topo.probes.values()]
        if self.capture_dir is not None:
            self.captures = start_captures(lab, specs, topo.collectors.values(), self.capture_dir)
            self.say(f"[pcap]  {len(self.captures)} captures -> {self.capture_dir}")
        for c in topo.collectors.values():
            self.collectors[c.name] = CollectorService(lab, c, lab.workdir)
        base = None
        for spec in specs:
            self.probes[spec.name] = p = ProbeService(lab, spec, lab.workdir)
            p.start()
            self.say(f"[probe] {spec.name} on {spec.node} "
                     f"({', '.join(spec.interfaces)}) -> {', '.join(map(str, spec.export))}")
            self.contexts[spec.name] = build_context(lab, spec, shared=base)
            base = base or self.contexts[spec.name]

    @property
    def ctx(self) -> Context:
        """The first probe's context (traffic truth and step times are shared by all)."""
        if not self.contexts:
            self.contexts[""] = Context()  # a lab without probes: truth and step times only
        return next(iter(self.contexts.values()))

    def stop(self) -> dict[str, CollectorResult]:
        """Stop the probes (each flushes its cache), then the collectors and captures. Once."""
        if self._stopped:
            return self.observed
        self._stopped = True
        try:
            for ctx in self.contexts.values():
                if ctx.probe_router:
                    refresh_routes(self.lab, ctx)  # the table as the run left it, for messages
            for p in self.probes.values():
                p.stop()
            for name, c in self.collectors.items():
                self.observed[name] = c.stop()
        finally:
            stop_captures(self.captures)
        self.say("[stop]  probes flushed, collectors stopped")
        return self.observed

    def close(self) -> None:
        """Stop everything that runs, tear the lab down. Safe to call twice."""
        try:
            if not self._stopped and self.lab is not None and self.lab.state is not None:
                for p in self.probes.values():
                    _quietly(p.stop)
                for c in self.collectors.values():
                    _quietly(c.stop)
                stop_captures(self.captures)
        finally:
            if self.lab is not None:
                self.lab.close()

    # -- traffic ------------------------------------------------------------
    def run_traffic(self, steps=None) -> None:
        steps = self.topo.traffic if steps is None else steps
        for step in steps:
            self.run_step(step, of=len(steps))

    def run_step(self, step, of: int | None = None) -> T.StepResult:
        """Run one traffic step (a topology Step) and print its progress line
        (`[3/5] udp NAME: ...`; of=0: `[3] udp NAME: ...`, for steps given one by one)."""
        t0 = time.time()
        of = len(self.topo.traffic) if of is None else of
        label = f"[{step.index + 1}{f'/{of}' if of else ''}] {step.kind}" + (
            f" {step.name}" if step.name else "")
        result = self._step(step)
        if step.name:
            self.ctx.step_times[step.name] = result.ended
            self.ctx.step_index[step.name] = step.index
        self.say(f"{label}: {result.summary} ({result.ended - t0:.1f} s)")
        return result

    def _step(self, step) -> T.StepResult:
        lab, kind = self.lab, step.kind
        if kind in CRAFTED or kind == "ping":
            res = T.run_crafted(lab, step, lab.workdir) if kind in CRAFTED else T.run_ping(lab, step)
            truth = self.ctx.truth
            for fid, t in res.truth.items():
                old = truth.get(fid)
                if old is None:
                    truth[fid] = t
                else:  # the same flow again in a later step: add up
                    old.packets += t.packets
                    old.octets += t.octets
                    old.last = t.last
            return res
        if kind == "iperf3":
            return T.run_iperf3(lab, step)
        if kind == "replay":
            return T.run_replay(lab, step, lab.workdir)
        if kind == "wait":
            time.sleep(step.get("seconds"))
            return _done(f"waited {step.get('seconds'):g} s")
        if kind == "link":
            ref, action = step.get("interface"), step.get("action")
            with self._routes_settle(self._link_nodes(ref)):
                (lab.link_down if action == "down" else lab.link_up)(ref)
            return _done(f"{ref} {action}")
        if kind == "route":
            node, action, route = step.get("node"), step.get("action"), step.get("route")
            with self._routes_settle({node}):
                lab.route(node, action, route)
            return _done(f"{node}: ip route {action} {route}")
        if kind == "probe":
            p, action = self.probes[step.get("probe")], step.get("action")
            if action in ("stop", "restart"):
                p.stop()
            if action in ("start", "restart"):
                p.start()
                self.contexts[p.spec.name].restarts += 1
            return _done(f"probe {p.spec.name} {action}")
        if kind == "control":
            reply = self.probes[step.get("probe")].ctl(list(step.get("command")))
            return _done(f"ctl {' '.join(step.get('command'))}: " + _short(reply))
        raise ValueError(f"unknown step kind {kind!r}")

    def _link_nodes(self, ref: str) -> set[str]:
        """The nodes whose interfaces a link step changes: the interface's and its peer's."""
        iface = self.topo.interface(ref)
        nodes = {iface.node}
        if iface.link is not None and not self.topo.links[iface.link].is_segment:
            nodes |= set(self.topo.links[iface.link].nodes)
        return nodes

    def _routes_settle(self, nodes: set[str]):
        return _RouteSettle(self, nodes)

    def route_refreshes(self, nodes: set[str]) -> dict[str, int]:
        """How often each running probe on `nodes` reloaded its routes so far."""
        out = {}
        for name, p in self.probes.items():
            if p.running and p.spec.node in nodes:
                try:
                    out[name] = p.stats().get("route_refreshes", 0)
                except CtlError:
                    pass
        return out

    # -- results ------------------------------------------------------------
    def wait_for_exports(self, checks=None) -> float:
        """Wait as long as the timed checks (exported_within) need, no longer."""
        checks = self.topo.expect if checks is None else checks

        def snapshot():  # one read of the collectors per poll; each check sees its probe's records
            results = self.collector_results()
            return lambda check: getattr(self.observed_by(check.probe, results), "find", list)()
        return wait_for_exports(checks, self.ctx, snapshot, self.say)

    def collector_results(self, flush: bool = False) -> dict[str, CollectorResult]:
        """What each collector has received so far (all of it, once stopped).

        flush=True first asks every running probe to expire its flows and send
        them now, and waits until they reached the collectors."""
        if self._stopped:
            return self.observed
        if flush:
            self.flush()
        return {name: load_jsonl(c.jsonl) for name, c in self.collectors.items() if c.jsonl.exists()}

    def flush(self, timeout: float = SETTLE_S) -> None:
        """`flush` on every running probe, then wait for the collectors to have what was sent."""
        targets = []
        for p in self.probes.values():
            if p.running:
                p.ctl(["flush"])
                targets.append((p.spec, p.stats().get("records_sent", 0)))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self._received(spec, sent) for spec, sent in targets):
                return
            time.sleep(0.05)
        self.say("        (not every flushed record reached a collector in time)")

    def _received(self, spec, sent: int) -> bool:
        """Has a collector of probe `spec` got the datagram that ends its `sent` records?"""
        if sent == 0:
            return True
        mine = self._exporter_addresses(spec)
        for e in spec.export:
            c = self.collectors.get(e.collector or "")
            if c is None or not c.jsonl.exists():
                continue
            got = [d for d in load_jsonl(c.jsonl).datagrams
                   if d.exporter in mine and (d.header.engine_type, d.header.engine_id)
                   == (spec.engine_type, spec.engine_id)]
            if got and got[-1].header.flow_sequence + got[-1].header.count >= sent:
                return True
        return not any(e.collector in self.collectors for e in spec.export)

    def _exporter_addresses(self, spec) -> set[str]:
        return {str(a.ip) for a in self.topo.nodes[spec.node].addresses}

    def observed_by(self, probe: str | None, results: dict | None = None) -> CollectorResult | None:
        """What the checks of `probe` look at: its first collector's result, with
        only that probe's datagrams when other probes export there too."""
        if results is None:
            results = self.observed if self._stopped else self.collector_results()
        p = self.probes.get(probe or "") or next(iter(self.probes.values()), None)
        if p is None:
            return next(iter(results.values()), None)
        name = next((e.collector for e in p.spec.export if e.collector in results), None)
        if name is None:  # it exports to no reference collector: nothing to judge it by
            return None
        shared = [q for q in self.probes.values() if q is not p
                  and any(e.collector == name for e in q.spec.export)]
        return results[name].only(self._exporter_addresses(p.spec), p.spec.engine_type,
                                  p.spec.engine_id) if shared else results[name]

    def verdicts(self, checks=None) -> list[Verdict]:
        """Stop (probes flush) and evaluate `checks` (default: the lab file's expect:)."""
        checks = self.topo.expect if checks is None else checks
        self.stop()
        out = []
        for check in checks:
            observed = self.observed_by(check.probe)
            if observed is None:
                out.append(Verdict(check.name, check.kind, False, "", ("no collector result",),
                                   check.message or ""))
                continue
            ctx = self.contexts.get(check.probe or "", self.ctx)
            probe = self.probes.get(check.probe or "")
            ctx.records_sent = probe.records_sent if probe else None
            out += evaluate([check], observed, ctx)
        for name, p in self.probes.items():  # a probe that crashed fails the run, whatever it sent
            if p.failures:
                out.append(Verdict(f"probe {name} ran cleanly", "probe", False, "",
                                   tuple(p.failures), "the probe process must run until it is "
                                   "stopped and then exit 0 (see its log in the workdir)"))
        self._verdicts = out  # the last evaluation is the run's result
        return out

    def result(self) -> RunResult:
        r = RunResult(self.topo.name, list(self._verdicts), dict(self.observed),
                      {n: p.final_stats for n, p in self.probes.items()},
                      {n: p.stats_at_stop for n, p in self.probes.items()},
                      self.ctx.truth, self.lab.workdir if self.lab else None,
                      [c.path for c in self.captures], self.run_id or "")
        r.seconds = time.time() - self.began
        return r


class _RouteSettle:
    """Around a route or link change: wait until the probes on the changed nodes
    reloaded their routes, so that flows of the next step see the new table."""

    def __init__(self, session: Session, nodes: set[str]) -> None:
        self.session, self.nodes = session, nodes

    def __enter__(self) -> None:
        self.before = self.session.route_refreshes(self.nodes)

    def __exit__(self, exc_type, *_) -> None:
        if exc_type is not None or not self.before:
            return
        deadline = time.monotonic() + ROUTE_SETTLE_S
        seen, quiet_since = None, time.monotonic()
        while time.monotonic() < deadline:
            now = self.session.route_refreshes(self.nodes)
            if now != seen:
                seen, quiet_since = now, time.monotonic()
            elif all(now.get(p, 0) > n for p, n in self.before.items()) \
                    and time.monotonic() - quiet_since >= 0.1:  # changed, then quiet
                return
            time.sleep(0.02)
        self.session.say(f"        (the probes on {', '.join(sorted(self.nodes))} did not "
                         f"reload their routes within {ROUTE_SETTLE_S:g} s)")


class Run:
    """`python -m testbed run`: a Session through the lab file's traffic and checks."""

    def __init__(self, topology, say=print, keep_workdir: Path | None = None,
                 extra_probe_args: tuple[str, ...] = (), capture_dir: Path | None = None,
                 run_id: str | None = None, state_dir: Path = STATE_DIR) -> None:
        self.topo = topology
        self.say = say
        self.keep, self.capture_dir = keep_workdir, capture_dir
        self.extra = extra_probe_args
        self.run_id, self.state_dir = run_id, state_dir

    def execute(self) -> RunResult:
        with Session(self.topo, say=self.say, workdir=self.keep, capture_dir=self.capture_dir,
                     extra_probe_args=self.extra, run_id=self.run_id,
                     state_dir=self.state_dir) as s:
            s.run_traffic()
            s.wait_for_exports()
            s.verdicts()
        return s.result()  # after the teardown: its time counts


def _done(summary: str) -> T.StepResult:
    return T.StepResult(summary, time.time())


def _quietly(fn) -> None:
    try:
        fn()
    except Exception:  # already on the way out: the lab's teardown stops what is left
        pass


def _short(reply: dict) -> str:
    if "stats" in reply:
        s = reply["stats"]
        return f"{s.get('packets')} packets, {s.get('active_flows')} active flows"
    if "flows" in reply:
        return f"{reply.get('total')} flows in the cache"
    return ", ".join(f"{k}={v}" for k, v in reply.items())[:120]

