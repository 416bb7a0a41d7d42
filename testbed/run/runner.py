"""One lab run: build -> collectors -> probes -> traffic -> wait -> stop -> verdicts."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..expect.checks import evaluate
from ..expect.verdict import Verdict
from ..lab import Lab
from . import traffic as T
from .context import build_context
from .quiet import quiet_hosts
from .services import CollectorService, ProbeService
from .waits import wait_for_exports

CRAFTED = {"tcp", "udp", "icmp", "fragments", "scan"}


@dataclass
class RunResult:
    lab: str
    verdicts: list[Verdict] = field(default_factory=list)
    collectors: dict = field(default_factory=dict)  # name -> CollectorResult
    probe_logs: dict = field(default_factory=dict)  # name -> [stdout of each probe run]
    truth: dict = field(default_factory=dict)
    workdir: Path | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.verdicts) and all(v.passed for v in self.verdicts)


class Run:
    def __init__(self, topology, say=print, keep_workdir: Path | None = None,
                 extra_probe_args: tuple[str, ...] = ()) -> None:
        self.topo = topology
        self.say = say
        self.keep = keep_workdir
        self.extra = extra_probe_args

    def execute(self) -> RunResult:
        began = time.time()
        result = RunResult(self.topo.name)
        with Lab(self.topo, workdir=self.keep) as lab:
            result.workdir = lab.workdir
            quiet_hosts(lab)
            self.say(f"[build] lab {self.topo.name}: {len(self.topo.nodes)} nodes, "
                     f"{len(self.topo.links)} links (run {lab.run_id})")
            collectors = {c.name: CollectorService(lab, c, lab.workdir)
                          for c in self.topo.collectors.values()}
            probes = {}
            try:
                for spec in self.topo.probes.values():
                    if self.extra:
                        spec = replace(spec, args=tuple(spec.args) + self.extra)
                    probes[spec.name] = p = ProbeService(lab, spec, lab.workdir)
                    p.start()
                    self.say(f"[probe] {spec.name} on {spec.node} "
                             f"({', '.join(spec.interfaces)}) -> {', '.join(map(str, spec.export))}")
                probe_spec = next(iter(probes.values())).spec
                ctx = build_context(lab, probe_spec)
                self._traffic(lab, probes, ctx)
                wait_for_exports(self.topo.expect, ctx, [c.jsonl for c in collectors.values()], self.say)
            finally:
                for name, p in probes.items():
                    p.stop()
                    result.probe_logs[name] = p.final_stats
                for name, c in collectors.items():
                    result.collectors[name] = c.stop()
            self.say("[stop]  probes flushed, collectors stopped")
            observed = next(iter(result.collectors.values()))
            result.verdicts = evaluate(self.topo.expect, observed, ctx)
            result.truth = ctx.truth
        result.seconds = time.time() - began
        return result

    def _traffic(self, lab, probes, ctx) -> None:
        steps = self.topo.traffic
        for step in steps:
            t0 = time.time()
            label = f"[{step.index + 1}/{len(steps)}] {step.kind}" + (f" {step.name}" if step.name else "")
            summary = self._step(lab, probes, step, ctx)
            ended = time.time()
            if step.name:
                ctx.step_times[step.name] = ended
                ctx.step_index[step.name] = step.index
            self.say(f"{label}: {summary} ({ended - t0:.1f} s)")

    def _step(self, lab, probes, step, ctx) -> str:
        kind = step.kind
        if kind in CRAFTED or kind in ("ping",):
            res = T.run_crafted(lab, step, lab.workdir) if kind in CRAFTED else T.run_ping(lab, step)
            for fid, t in res.truth.items():
                old = ctx.truth.get(fid)
                if old is None:
                    ctx.truth[fid] = t
                else:  # the same flow again in a later step: add up
                    old.packets += t.packets
                    old.octets += t.octets
                    old.last = t.last
            return res.summary
        if kind == "iperf3":
            return T.run_iperf3(lab, step).summary
        if kind == "replay":
            return T.run_replay(lab, step, lab.workdir).summary
        if kind == "wait":
            time.sleep(step.get("seconds"))
            return f"waited {step.get('seconds'):g} s"
        if kind == "link":
            ref = step.get("interface")
            (lab.link_down if step.get("action") == "down" else lab.link_up)(ref)
            return f"{ref} {step.get('action')}"
        if kind == "route":
            lab.route(step.get("node"), step.get("action"), step.get("route"))
            return f"{step.get('node')}: ip route {step.get('action')} {step.get('route')}"
        if kind == "probe":
            p = probes[step.get("probe")]
            action = step.get("action")
            if action in ("stop", "restart"):
                p.stop()
            if action in ("start", "restart"):
                p.start()
            return f"probe {p.spec.name} {action}"
        if kind == "control":
            reply = probes[step.get("probe")].ctl(list(step.get("command")))
            return f"ctl {' '.join(step.get('command'))}: " + _short(reply)
        raise ValueError(f"unknown step kind {kind!r}")


def _short(reply: dict) -> str:
    if "stats" in reply:
        s = reply["stats"]
        return f"{s.get('packets')} packets, {s.get('active_flows')} active flows"
    if "flows" in reply:
        return f"{reply.get('total')} flows in the cache"
    return ", ".join(f"{k}={v}" for k, v in reply.items())[:120]
