"""`kind: probe` - stop, start or restart a probe (a restart is a sequence reset the
checks expect)."""
from __future__ import annotations

from dataclasses import dataclass

from ...schema.kinds import spec
from ..step import STEPS, Env, Step, StepResult, choice, done, probe


@STEPS.add
@dataclass(frozen=True, kw_only=True)
class Probe(Step):
    kind = "probe"
    probe: str = spec(probe)
    action: str = spec(choice("stop", "start", "restart", what="probe action"))

    def run(self, env: Env) -> StepResult:
        p = env.probe(self.probe)
        if self.action in ("stop", "restart"):
            p.stop()
        if self.action in ("start", "restart"):
            p.start()
            env.restarted(self.probe)
        return done(f"probe {self.probe} {self.action}")
