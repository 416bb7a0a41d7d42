"""`kind: probe` - stop, start, restart or kill (SIGKILL: no flush) a probe; each start
after the first is a sequence reset the checks expect."""
from __future__ import annotations

from dataclasses import dataclass

from ...schema.kinds import spec
from ..step import STEPS, Env, LabState, Step, StepResult, choice, done, lifecycle, probe


@STEPS.add
@dataclass(frozen=True, kw_only=True)
class Probe(Step):
    kind = "probe"
    probe: str = spec(probe)
    action: str = spec(choice("stop", "start", "restart", "kill", what="probe action"))

    def run(self, env: Env) -> StepResult:
        p = env.probe(self.probe)
        if self.action in ("stop", "restart"):
            p.stop()
        if self.action == "kill":
            p.kill()
        if self.action in ("start", "restart"):
            p.start()
            env.restarted(self.probe)
        return done(f"probe {self.probe} {self.action}")

    def check_order(self, state: LabState) -> str | None:
        return lifecycle(state, "probe", self.probe, self.action)
