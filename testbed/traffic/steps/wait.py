"""`kind: wait` - let time pass (timeouts expire, scans run)."""
from __future__ import annotations

import time
from dataclasses import dataclass

from ...schema.kinds import spec
from ..step import SECONDS, STEPS, Env, Step, StepResult, done


@STEPS.add
@dataclass(frozen=True, kw_only=True)
class Wait(Step):
    kind = "wait"
    seconds: float = spec(SECONDS)

    def run(self, env: Env) -> StepResult:
        time.sleep(self.seconds)
        return done(f"waited {self.seconds:g} s")
