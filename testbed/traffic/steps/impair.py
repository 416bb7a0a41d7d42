"""`kind: impair` - drop, duplicate, reorder and delay a probe's export datagrams.

    - {kind: impair, probe: p1, drop: 5%, duplicate: 1%, reorder: 2%, delay_ms: 50, seed: 7}
    - {kind: impair, probe: p1}          # from here on: nothing (everything passes)

From this step on, each of the probe's datagrams gets one fate drawn from a
seeded stream (the same seed, the same fates); a datagram let through waits
`delay_ms`. The tap that does it logs every fate: the `sequence` and
`conservation` checks compare the collector's view with that log exactly.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from ...faults.impair import Policy
from ...schema.kinds import plain, spec
from ..step import STEPS, Env, Step, StepResult, done, probe


def _fraction(r, y) -> float | None:
    """`5%` or 0.05."""
    v = y.value
    if isinstance(v, str) and v.endswith("%"):
        try:
            v = float(v[:-1]) / 100
        except ValueError:
            v = None
    if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1:
        return float(v)
    r.error(y, f"expected a share like 5% or 0.05 (0..1), got {y.value!r}")
    return None


FRACTION = plain(_fraction)


@STEPS.add
@dataclass(frozen=True, kw_only=True)
class Impair(Step):
    kind = "impair"
    probe: str = spec(probe)
    drop: float = spec(FRACTION, 0.0)
    duplicate: float = spec(FRACTION, 0.0)
    reorder: float = spec(FRACTION, 0.0)
    delay_ms: float = spec(plain(lambda r, y: r.number(y, what="milliseconds", hi=60_000)), 0.0)
    seed: int = spec(plain(lambda r, y: r.integer(y, 0, 2**32 - 1, "a seed")), 1)

    @classmethod
    def finish(cls, r, known, y, values) -> bool:
        total = sum(values.get(k) or 0.0 for k in ("drop", "duplicate", "reorder"))
        if total > 1:
            r.error(y, f"drop + duplicate + reorder is {total:.0%}: a datagram has one fate, at most 100%")
            return False
        return True

    def policy(self) -> Policy:
        return Policy(self.drop, self.duplicate, self.reorder, self.delay_ms, self.seed)

    def taps(self, topo) -> set[tuple[str, str]]:
        p = topo.probes[self.probe]
        return {(p.name, e.collector) for e in p.export if e.collector}

    def run(self, env: Env) -> StepResult:
        for tap in env.taps_of(self.probe):
            tap.set_policy(asdict(self.policy()))
        shares = ", ".join(f"{k} {getattr(self, k):.0%}" for k in ("drop", "duplicate", "reorder")
                           if getattr(self, k))
        delay = f", delay {self.delay_ms:g} ms" if self.delay_ms else ""
        return done(f"{self.probe}'s export: {shares or 'no loss'}{delay} (seed {self.seed})")
