"""`kind: active_split` - a long flow is exported in pieces (active timeout) that add up."""
from __future__ import annotations

from dataclasses import dataclass

from ...schema.kinds import spec
from ..check import CHECKS, WINDOW, Check, step_name, within
from ..context import Context
from ..match import Match, read_match, sent_flows
from ..verdict import Verdict
from .flow import count_range


@CHECKS.add
@dataclass(frozen=True, kw_only=True)
class ActiveSplit(Check):
    kind = "active_split"
    match: Match = spec(read_match)
    records: tuple[int, int | None] = spec(count_range("records"), (2, None))
    packets: tuple[int, int | None] | None = spec(count_range("packets"), None)
    octets: tuple[int, int | None] | None = spec(count_range("octets"), None)
    window: tuple[float, float] | None = spec(WINDOW, None)  # accepted for symmetry; not judged
    after: str | None = spec(step_name, None)

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
        text = f"{len(mine)} records: " + " + ".join(str(r.packets) for r in mine) + " packets"
        return self.verdict(not problems, text, problems)
