"""`kind: exported_within` - the flow's records arrived within [lo, hi] seconds of its
last packet (or of the end of step `after:`)."""
from __future__ import annotations

from dataclasses import dataclass

from ...schema.kinds import spec
from ..check import CHECKS, WINDOW, Check, step_name, within
from ..context import Context
from ..lag import lag_of, unreliable
from ..match import Match, read_match, sent_flows
from ..verdict import Verdict
from .flow import count_range

MARGIN_S = 0.5  # a run waits this long past the window for records still in flight


@CHECKS.add
@dataclass(frozen=True, kw_only=True)
class ExportedWithin(Check):
    kind = "exported_within"
    match: Match = spec(read_match)
    window: tuple[float, float] = spec(WINDOW)
    records: tuple[int, int | None] | None = spec(count_range("records"), None)
    after: str | None = spec(step_name, None)

    def reference(self, ctx: Context) -> tuple[float, str] | None:
        """(unix time the window starts from, what that moment is), if known."""
        if self.after is not None:
            t = ctx.step_times.get(self.after)
            return None if t is None else (t, f"step {self.after} ended")
        sent = [t.last for t in sent_flows(self.match, ctx) if t.last is not None]
        return (max(sent), "its last packet") if sent else None

    def deadline(self, ctx: Context) -> float | None:
        ref = self.reference(ctx)
        return None if ref is None else ref[0] + self.window[1] + MARGIN_S

    def evaluate(self, observed, ctx: Context) -> Verdict:
        m = self.match
        lo, hi = self.window
        ref = self.reference(ctx)
        if ref is None:
            return self.verdict(False, "", [f"no crafted traffic matches {m.text} to time against "
                                            "(name a step with after:)"])
        at, what = ref
        sent = [t for t in sent_flows(m, ctx) if t.last is not None]
        mine = [r for r in observed.find() if m(r)]  # find(): no duplicate datagrams
        if not mine:
            return self.verdict(False, "", [f"no record matches {m.text}: nothing was exported "
                                            f"within {hi:g} s after {what}"])
        delay = max(r.recv_ms for r in mine) / 1000 - at
        problems = []
        if sent and sum(r.packets for r in mine) < sum(t.packets for t in sent):
            problems.append(f"only {sum(r.packets for r in mine)} of {sum(t.packets for t in sent)} "
                            "packets were exported by then")
        if not lo <= delay <= hi:
            problems.append(f"export delay: expected {lo:g}..{hi:g} s after {what}, got {delay:.2f} s")
        if self.records is not None:
            p = within("records", self.records, len(mine))
            if p:
                problems.append(p)
        text = f"exported {delay:.2f} s after {what}" + unreliable(delay, self.window, lag_of(sent))
        return self.verdict(not problems, text, problems)
