"""`kind: collector` - stop, start, restart or kill (SIGKILL) a reference collector.

While it is down, what the probes export to it is lost: the `sequence` check
expects exactly the gaps that close with the first datagram after it came
back (and the loss at the end, if it stays down), and nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...schema.kinds import spec
from ..step import STEPS, Env, LabState, Step, StepResult, choice, done, lifecycle


def _collector(r, known, y, got) -> str | None:
    if isinstance(y.value, str) and y.value in known.topo.collectors:
        if known.topo.collectors[y.value].kind != "reference":
            r.error(y, f"{y.value} is an {known.topo.collectors[y.value].kind} collector: "
                       "only reference collectors are stopped and started by steps")
            return None
        return y.value
    r.error(y, f"unknown collector {y.value!r} (collectors: {', '.join(known.topo.collectors) or 'none'})")
    return None


@STEPS.add
@dataclass(frozen=True, kw_only=True)
class Collector(Step):
    kind = "collector"
    collector: str = spec(_collector)
    action: str = spec(choice("stop", "start", "restart", "kill", what="collector action"))

    def run(self, env: Env) -> StepResult:
        c = env.collector(self.collector)
        if self.action in ("stop", "restart"):
            c.stop_run()
        if self.action == "kill":
            c.kill()
        if self.action in ("start", "restart"):
            c.start()
        return done(f"collector {self.collector} {self.action}")

    def taps(self, topo) -> set[tuple[str, str]]:
        """Every probe that exports here: the tap's log says what was sent while it was down."""
        return {(p.name, self.collector) for p in topo.probes.values()
                if any(e.collector == self.collector for e in p.export)}

    def check_order(self, state: LabState) -> str | None:
        return lifecycle(state, "collector", self.collector, self.action)
