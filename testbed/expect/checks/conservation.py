"""`kind: conservation` - every crafted flow was exported with exactly the packets
and octets that were sent (no more, no less), optionally for one step only.
Records the lab's faults lost on the export path (the tap's log) count as
exported: they left the probe. Flows are compared as the exporter under test
keys them (expect/keying.py): what a flow check is n/a for, this one does not
fail for."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ...schema.kinds import spec
from ..check import CHECKS, Check, step_name
from ..context import Context
from ..keying import keying
from ..match import ANY, Match, read_match
from ..verdict import Verdict

SHOWN = 6  # flows named in a failure; the rest are counted


@CHECKS.add
@dataclass(frozen=True, kw_only=True)
class Conservation(Check):
    kind = "conservation"
    explained_by = ("accounts_every_packet",)  # packets never read are never exported
    match: Match = spec(read_match, ANY)
    step: str | None = spec(step_name, None)

    def evaluate(self, observed, ctx: Context) -> Verdict:
        m = self.match
        flows = [t for fid, t in ctx.truth.items()
                 if m(fid) and (self.step is None or t.step == ctx.step_index.get(self.step))]
        if not flows:
            return self.verdict(False, "", [f"no crafted traffic matches {m.text} to compare with"])
        key = keying(lambda name: self.unclaimed(ctx, name), [t.flow.key for t in flows])
        got_p: dict = defaultdict(int)
        got_o: dict = defaultdict(int)
        for k, (packets, octets) in (ctx.path.lost.items() if ctx.path is not None else ()):
            got_p[key(k)] += packets  # lost on the export path on purpose: accounted by the tap
            got_o[key(k)] += octets
        records = observed.find()
        for r in records:
            k = key((r.src, r.dst, r.sport, r.dport, r.proto, r.tos))
            got_p[k] += r.packets
            got_o[k] += r.octets
        groups: dict = defaultdict(list)  # as the exporter keys them: one or more sent flows
        for t in flows:
            groups[key(t.flow.key)].append(t)
        problems, lost_p = [], 0
        for k, ts in groups.items():
            sent_p, sent_o = sum(t.packets for t in ts), sum(t.octets for t in ts)
            if (got_p[k], got_o[k]) != (sent_p, sent_o):
                who = f"{ts[0].flow}" + (f" and {len(ts) - 1} more flows keyed as one" if len(ts) > 1 else "")
                problems.append(f"{who}: sent {sent_p} packets / {sent_o} octets, exported {got_p[k]} / {got_o[k]}")
            lost_p += sent_p - min(got_p[k], sent_p)
        shown = problems[:SHOWN] + ([f"... and {len(problems) - SHOWN} more flows"]
                                    if len(problems) > SHOWN else [])
        if problems:
            shown.insert(0, f"{len(problems)} of {len(groups)} flows differ; {lost_p} packets missing")
        sent_p = sum(t.packets for t in flows)
        text = (f"{len(flows)} flows, {sent_p} packets: exported exactly" if not problems else
                f"{len(flows)} flows, {sent_p} packets sent; {sent_p - lost_p} of them exported")
        in_all = sum(r.packets for r in records if m(r))
        if problems and in_all != sent_p - lost_p:  # packets under other flow keys than sent
            text += f" under their own flow key ({in_all} in records that match)"
        ours = [t.flow.key for t in flows] + [(r.src, r.dst, r.sport, r.dport, r.proto, r.tos)
                                             for r in records if key((r.src, r.dst, r.sport, r.dport, r.proto, r.tos))
                                             in groups]
        merged = key.merges(ours)
        if merged:  # counted as the exporter keys flows: say so
            text += "; compared as the exporter keys flows: " + "; ".join(merged)
        return self.verdict(not problems, text, shown)
