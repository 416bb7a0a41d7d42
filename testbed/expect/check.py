"""What every check kind is: a frozen dataclass that judges what the collector saw.

A kind lives in one module of `expect/checks/` (its fields with defaults and
readers, and its `evaluate`); `CHECKS` is the registry the lab file reader
uses. Checks whose records arrive on a timer say so with `deadline()` and
`complete()`, so a run waits as long as they need and no longer.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..schema.fields import Reader
from ..schema.kinds import Entry, Kinds, plain, spec
from ..schema.yamltree import Y
from .context import Context
from .match import ANY, Match
from .verdict import Verdict

CHECKS = Kinds("check", "name: and kind:")


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
    """The check's verdict; one that cannot be evaluated fails, with the reason."""
    try:
        return check.evaluate(observed, ctx)
    except Exception as exc:
        return check.verdict(False, "", [f"could not evaluate: {type(exc).__name__}: {exc}"])
