"""`kind: exported_within` - the flow's records arrived within [lo, hi] seconds of its
last packet (or of the end of step `after:`).

`window: [lo, hi]` is the lab's own demand, the same for every exporter.
`by: inactive_timeout` or `by: fin_rst` asks instead for the window the
exporter under test claims (testbed/exporters Claims): after the probe's
inactive timeout (rounded to the exporter's timeout step), or at the FIN/RST
itself - a check that only applies to an exporter claiming
`expires_on_fin_rst` (n/a otherwise, unless the probe `require:`s it)."""
from __future__ import annotations

from dataclasses import dataclass

from ...schema.kinds import spec
from ..check import CHECKS, WINDOW, Check, step_name, within
from ...schema.kinds import choice
from ..context import Context
from ..lag import lag_of, unreliable
from ..match import Match, read_match, sent_flows
from ..timeouts import limit_from
from ..verdict import Verdict
from .flow import count_range

MARGIN_S = 0.5  # a run waits this long past the window for records still in flight


@CHECKS.add
@dataclass(frozen=True, kw_only=True)
class ExportedWithin(Check):
    kind = "exported_within"
    explained_by = ("accounts_every_packet",)  # packets never read are never exported
    match: Match = spec(read_match)
    window: tuple[float, float] | None = spec(WINDOW, None)
    by: str | None = spec(choice("inactive_timeout", "fin_rst", what="timer"), None)
    records: tuple[int, int | None] | None = spec(count_range("records"), None)
    after: str | None = spec(step_name, None)

    @classmethod
    def finish(cls, r, known, y, values) -> bool:
        if ("window" in values) == ("by" in values):
            r.error(y, "give window: [lo, hi] (seconds) or by: inactive_timeout | fin_rst (the "
                       "exporter's own window), one of them")
            return False
        return True

    def claims_needed(self) -> tuple[str, ...]:
        return (*self.needs, "expires_on_fin_rst") if self.by == "fin_rst" else self.needs

    def expected(self, ctx: Context, at: float | None = None) -> tuple[float, float]:
        """The window: the lab's, or the one the exporter claims for `by:`
        (`at`: when the flow went idle, for a timeout changed at run time)."""
        if self.window is not None:
            return self.window
        claims = ctx.claims
        if self.by == "fin_rst":  # the flow expires at the FIN/RST: the timer's slack only
            lo, hi = claims.timer_window_s
            return max(0.0, lo), hi
        timeout = self.idle_timeout(ctx)
        if at is not None:
            timeout = limit_from(at, timeout, ctx.inactive_changes)
        return claims.export_window(timeout)

    def idle_timeout(self, ctx: Context) -> float:
        """The inactive timeout the matched flows expire by: the lab's, or the exporter's own
        for their protocol (softflowd's named timeouts; the longest when they differ). RST and
        FIN are what either direction of the session sent (softflowd's flows are both ways)."""
        inactive = ctx.exporter.inactive_timeout
        if not ctx.claims.idle_timeouts:
            return inactive
        flags = {(f.src, f.dst, f.sport, f.dport, f.proto): t.flags for f, t in ctx.truth.items()}
        found = []
        for t in sent_flows(self.match, ctx):
            f = t.flow
            both = (t.flags, flags.get((f.dst, f.src, f.dport, f.sport, f.proto), 0))
            found.append(ctx.claims.idle_timeout(inactive, f.proto, rst=any(x & 0x04 for x in both),
                                                 fin=all(x & 0x01 for x in both)))
        return max(found, default=inactive)

    def reference(self, ctx: Context) -> tuple[float, str] | None:
        """(unix time the window starts from, what that moment is), if known."""
        if self.after is not None:
            t = ctx.step_times.get(self.after)
            return None if t is None else (t, f"step {self.after} ended")
        sent = [t.last for t in sent_flows(self.match, ctx) if t.last is not None]
        return (max(sent), "its last packet") if sent else None

    def deadline(self, ctx: Context) -> float | None:
        ref = self.reference(ctx)
        return None if ref is None else ref[0] + self.expected(ctx, ref[0])[1] + MARGIN_S

    def evaluate(self, observed, ctx: Context) -> Verdict:
        m = self.match
        ref = self.reference(ctx)
        lo, hi = self.expected(ctx, ref[0] if ref else None)
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
        claimed = f" (claimed {lo:g}..{hi:g} s)" if self.by else ""
        text = f"exported {delay:.2f} s after {what}{claimed}" + unreliable(delay, (lo, hi), lag_of(sent))
        return self.verdict(not problems, text, problems)

