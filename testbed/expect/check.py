"""What every check kind is: a frozen dataclass that judges what the collector saw.

A kind lives in one module of `expect/checks/` (its fields with defaults and
readers, and its `evaluate`); `CHECKS` is the registry the lab file reader
uses. Checks whose records arrive on a timer say so with `deadline()` and
`complete()`, so a run waits as long as they need and no longer.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from ..exporters import CLAIMS
from ..schema.fields import Reader
from ..schema.kinds import Entry, Kinds, plain, spec
from ..schema.yamltree import Y
from .context import Context
from .match import ANY, Match
from .verdict import Verdict, not_applicable

CHECKS = Kinds("check", "name: and kind:")


def _needs(r: Reader, y: Y) -> tuple[str, ...] | None:
    names = [i.value for i in r.one_or_many(y)]
    bad = [n for n in names if n not in CLAIMS]
    if bad:
        r.error(y, f"needs: unknown claim {bad[0]!r}; known: {', '.join(CLAIMS)}")
        return None
    return tuple(names)


def _text(what: str):
    return plain(lambda r, y: r.text(y, what))


def _probe(r: Reader, known, y: Y, got: dict) -> str | None:
    p = known.probe(r, y)
    return p and p.name


@dataclass(frozen=True, kw_only=True)
class Check(Entry):
    name: str = spec(_text("a check name"))
    probe: str = spec(_probe, "")  # the probe whose records it judges ("" only in a lab with none)
    message: str | None = spec(_text("a message for the operator"), None)
    # exporter claims (testbed/exporters CLAIMS) this check relies on, beside those its
    # fields imply (a flow check's dst_mask: needs the exporter to fill dst_mask)
    needs: tuple[str, ...] = spec(plain(_needs), ())
    # exporter limits (testbed/exporters LIMITS) that can make this check fail: a failure
    # names the one the exporter has as its likely cause
    explained_by: ClassVar[tuple[str, ...]] = ()

    @property
    def selects(self) -> Match:
        """The records this check looks at."""
        return getattr(self, "match", None) or ANY

    @classmethod
    def prepare(cls, r: Reader, known, y: Y, f: dict) -> dict:
        if "probe" in f:
            return {}
        if len(known.probes) == 1:  # the only probe is the one meant
            return {"probe": next(iter(known.probes))}
        r.error(y, "say which probe this check is about (probe: NAME)" if known.probes
                else "there is no probe to check (add one under probes:)")
        return {"probe": None}

    def evaluate(self, observed, ctx: Context) -> Verdict:
        raise NotImplementedError

    def deadline(self, ctx: Context) -> float | None:
        """Unix time by which its records must have arrived (None: not timed)."""
        return None

    def claims_needed(self) -> tuple[str, ...]:
        """Every claim the check relies on: `needs:` and what its fields imply."""
        return self.needs

    def not_applicable(self, ctx: Context) -> str | None:
        """Why this check says nothing about the exporter under test (a claim it relies on
        that the exporter does not make, and the lab does not `require:`), or None."""
        return next(filter(None, (self.unclaimed(ctx, name) for name in self.claims_needed())), None)

    def unclaimed(self, ctx: Context, name: str) -> str | None:
        """Why claim `name` does not hold for the exporter under test (None: it claims it,
        or the probe `require:`s it)."""
        if name in ctx.exporter.require:
            return None
        return ctx.claims.reason(name, ctx.exporter.who)

    def explaining(self, observed) -> tuple[str, ...]:
        """The limits that can explain a failure on what was `observed` (default: explained_by)."""
        return self.explained_by

    def verdict(self, ok: bool, observed: str, problems) -> Verdict:
        return Verdict(self.name, self.kind, ok, observed, tuple(problems), self.message or "")


def within(name: str, want: tuple[int, int | None], got: int, unit: str = "") -> str | None:
    """None if `got` is in [lo, hi] (hi None: no bound), else the problem as text."""
    lo, hi = want
    if lo <= got and (hi is None or got <= hi):
        return None
    if lo == hi:
        return f"{name}: expected {lo}{unit}, got {got}{unit}"
    return f"{name}: expected {lo}..{'' if hi is None else hi}{unit}, got {got}{unit}"


COUNT_RANGE = plain(lambda r, y: r.count_range(y, "a count"))
WINDOW = plain(lambda r, y: r.window(y))


def step_name(r: Reader, known, y: Y, got: dict) -> str | None:
    return known.step(r, y)


def judge(check: Check, observed, ctx: Context) -> Verdict:
    """The check's verdict: n/a when the exporter does not claim what it relies on;
    one that cannot be evaluated fails, with the reason; a failure an exporter limit
    can explain names it (`cause`)."""
    why = check.not_applicable(ctx)
    if why:
        return not_applicable(check.name, check.kind, why, check.message or "")
    try:
        v = check.evaluate(observed, ctx)
    except Exception as exc:
        return check.verdict(False, "", [f"could not evaluate: {type(exc).__name__}: {exc}"])
    if v.passed:
        return v
    causes = (ctx.claims.cause(name, ctx.exporter.who) for name in check.explaining(observed))
    return replace(v, cause=next(filter(None, causes), ""))
