"""`kind: conservation` - every crafted flow was exported with exactly the packets
and octets that were sent (no more, no less), optionally for one step only.
Records the lab's faults lost on the export path (the tap's log) count as
exported: they left the probe."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ...schema.kinds import spec
from ..check import CHECKS, Check, step_name
from ..context import Context
from ..match import ANY, Match, read_match
from ..verdict import Verdict

SHOWN = 6  # flows named in a failure; the rest are counted


@CHECKS.add
@dataclass(frozen=True, kw_only=True)
class Conservation(Check):
    kind = "conservation"
    match: Match = spec(read_match, ANY)
    step: str | None = spec(step_name, None)

    def evaluate(self, observed, ctx: Context) -> Verdict:
        m = self.match
        got_p: dict = defaultdict(int)
        got_o: dict = defaultdict(int)
        for k, (packets, octets) in (ctx.path.lost.items() if ctx.path is not None else ()):
            got_p[k] += packets  # lost on the export path on purpose: accounted by the tap
            got_o[k] += octets
        for r in observed.find():
            k = (r.src, r.dst, r.sport, r.dport, r.proto, r.tos)
            got_p[k] += r.packets
            got_o[k] += r.octets
        flows = [t for fid, t in ctx.truth.items()
                 if m(fid) and (self.step is None or t.step == ctx.step_index.get(self.step))]
        if not flows:
            return self.verdict(False, "", [f"no crafted traffic matches {m.text} to compare with"])
        problems, lost_p = [], 0
        for t in flows:
            k = t.flow.key
            if (got_p[k], got_o[k]) != (t.packets, t.octets):
                problems.append(f"{t.flow}: sent {t.packets} packets / {t.octets} octets, "
                                f"exported {got_p[k]} / {got_o[k]}")
            lost_p += t.packets - min(got_p[k], t.packets)
        shown = problems[:SHOWN] + ([f"... and {len(problems) - SHOWN} more flows"]
                                    if len(problems) > SHOWN else [])
        if problems:
            shown.insert(0, f"{len(problems)} of {len(flows)} flows differ; {lost_p} packets missing")
        sent_p = sum(t.packets for t in flows)
        text = (f"{len(flows)} flows, {sent_p} packets: exported exactly" if not problems else
                f"{len(flows)} flows, {sent_p} packets sent; {sent_p - lost_p} of them exported")
        in_all = sum(r.packets for r in observed.find() if m(r))
        if problems and in_all != sent_p - lost_p:  # packets under other flow keys than sent
            text += f" under their own flow key ({in_all} in records that match)"
        return self.verdict(not problems, text, shown)
