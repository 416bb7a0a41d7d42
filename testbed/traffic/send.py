"""Crafted steps: planned packets -> one traffic player per sending node -> ground truth.

The players start together, each sends its node's packets at their planned
offsets and reports when each packet left; those send times become the truth
the checks compare with (first and last packet of every flow).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass

from ..logtail import tail
from . import plan as P
from .step import Env, Step, StepResult

START_LEAD_S = 0.3  # players start together this long after they are launched


@dataclass(frozen=True, kw_only=True)
class Crafted(Step):
    """A step whose every packet is planned (tcp, udp, icmp, fragments, scan)."""

    def plan(self, topo) -> list[P.Planned]:
        raise NotImplementedError

    def run(self, env: Env) -> StepResult:
        return send_planned(env, self.plan(env.lab.topology), self.index)


def send_planned(env: Env, plans: list[P.Planned], index: int) -> StepResult:
    truth = P.truth_of(plans, index)
    start = time.time() + START_LEAD_S
    procs = []
    for node, mine in P.split_by_node(plans).items():
        base = env.workdir / f"step{index}-{node}"
        plan_file = base.with_suffix(".plan.json")
        plan_file.write_text(json.dumps({"start": start, "packets": [[p.t, p.data.hex()] for p in mine]}))
        out, log = base.with_suffix(".sent.json"), base.with_suffix(".player.log")
        with open(out, "wb") as f, open(log, "wb") as errors_to:  # files: a pipe could fill up
            proc = env.lab.node(node).popen([sys.executable, "-m", "testbed.traffic.player",
                                             str(plan_file)], stdout=f, stderr=errors_to)
        procs.append((node, mine, proc, out, log))
    errors = []
    deadline = time.time() + max(p.t for p in plans) + 60
    for node, mine, proc, out, log in procs:
        try:
            proc.wait(timeout=max(1.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            for *_, other, _, _ in procs:
                other.kill()
            raise RuntimeError(f"traffic player in {node} did not finish in time") from None
        try:
            result = json.loads(out.read_text())
        except (OSError, ValueError):
            err = tail(log, 500).strip()
            raise RuntimeError(f"traffic player in {node} failed: {err}") from None
        errors += [f"{node}: packet {i}: {msg}" for i, msg in result["errors"]]
        for p, sent in zip(mine, result["sent"]):
            if sent is None:
                continue
            t = truth[P.flow_of(p.data)]
            t.first = sent if t.first is None else min(t.first, sent)
            t.last = sent if t.last is None else max(t.last, sent)
            t.lag = max(t.lag or 0.0, sent - (start + p.t))
            t.times.append(sent)
    if errors:
        raise RuntimeError("sending failed: " + "; ".join(errors[:5]))
    n = sum(t.packets for t in truth.values())
    return StepResult(f"{n} packets in {len(truth)} flows", time.time(), truth)
