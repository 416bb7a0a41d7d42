"""`kind: active_split` - a long flow is exported in pieces (active timeout) that add up.

`by: active_timeout` also times the pieces: every record but the last must
last as long as the probe's active timeout (the one in effect when the piece
began: expect/timeouts.py), within the window the exporter claims
(testbed/exporters Claims), less one gap between the flow's packets."""
from __future__ import annotations

from dataclasses import dataclass

from ...schema.kinds import spec
from ...schema.kinds import choice
from ..check import CHECKS, WINDOW, Check, step_name, within
from ..context import Context
from ..match import Match, read_match, sent_flows
from ..timeouts import limit_from
from ..verdict import Verdict
from .flow import count_range


@CHECKS.add
@dataclass(frozen=True, kw_only=True)
class ActiveSplit(Check):
    kind = "active_split"
    explained_by = ("accounts_every_packet",)  # packets never read are never exported
    match: Match = spec(read_match)
    records: tuple[int, int | None] = spec(count_range("records"), (2, None))
    packets: tuple[int, int | None] | None = spec(count_range("packets"), None)
    octets: tuple[int, int | None] | None = spec(count_range("octets"), None)
    window: tuple[float, float] | None = spec(WINDOW, None)  # accepted for symmetry; not judged
    after: str | None = spec(step_name, None)
    by: str | None = spec(choice("active_timeout", what="timer"), None)

    def evaluate(self, observed, ctx: Context) -> Verdict:
        m = self.match
        mine = [r for r in observed.find() if m(r)]  # find(): no duplicate datagrams
        sent = sent_flows(m, ctx)
        problems = []
        p = within("records", self.records, len(mine))
        if p:
            problems.append(p)
        for key in ("packets", "octets"):
            got = sum(getattr(r, key) for r in mine)
            want = getattr(self, key)
            if want is not None:
                p = within(key, want, got)
                if p:
                    problems.append(p)
            elif sent and got != sum(getattr(t, key) for t in sent):
                problems.append(f"{key}: records add up to {got}, sent {sum(getattr(t, key) for t in sent)}")
        if self.by and len(mine) > 1:
            problems += self._timing(mine, sent, ctx)
        text = f"{len(mine)} records: " + " + ".join(str(r.packets) for r in mine) + " packets"
        if self.by and mine:
            text += " lasting " + " + ".join(f"{(r.end_ms - r.start_ms) / 1000:.1f}" for r in
                                             sorted(mine, key=lambda r: r.start_ms)) + " s"
        return self.verdict(not problems, text, problems)

    def _timing(self, mine, sent, ctx: Context) -> list[str]:
        claims = ctx.claims
        gaps = [(t.last - t.first) / (t.packets - 1) for t in sent if t.packets > 1 and t.first is not None]
        gap = max(gaps, default=0.0)
        pieces = sorted(mine, key=lambda r: r.start_ms)
        # a piece's wall-clock start, for a timeout changed at run time: the
        # first packet sent, plus how much later the piece began
        firsts = [t.first for t in sent if t.first is not None]
        out = []
        for r in pieces[:-1]:  # the last piece ends with the traffic
            active = ctx.exporter.active_timeout
            if firsts:
                began = min(firsts) + (r.start_ms - pieces[0].start_ms) / 1000
                active = limit_from(began, active, ctx.active_changes)
            lo, hi = claims.export_window(active)
            lo -= gap
            lasted = (r.end_ms - r.start_ms) / 1000
            if not lo <= lasted <= hi:
                out.append(f"a piece of {r.packets} packets lasted {lasted:.2f} s: expected {max(lo, 0):.2f}.."
                           f"{hi:.2f} s (active timeout {active:g} s)")
        return out
