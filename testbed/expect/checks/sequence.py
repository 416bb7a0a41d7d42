"""`kind: sequence` - the datagram stream is whole: no records lost, duplicated or
reordered, resets only where the traffic restarted the probe, none lost at either end."""
from __future__ import annotations

from dataclasses import dataclass

from ..check import CHECKS, Check
from ..context import Context
from ..verdict import Verdict


@CHECKS.add
@dataclass(frozen=True, kw_only=True)
class Sequence(Check):
    kind = "sequence"

    def evaluate(self, observed, ctx: Context) -> Verdict:
        report = observed.sequence
        if not report:
            return self.verdict(False, "", ["no datagram arrived"])
        problems = []
        for e in report:
            who = f"{e.exporter} engine {e.engine_type}/{e.engine_id}"
            for attr, what in (("records_lost", "records lost"), ("duplicates", "duplicate datagrams"),
                               ("reordered", "reordered datagrams")):
                if getattr(e, attr):
                    problems.append(f"{who}: {getattr(e, attr)} {what}")
        resets = sum(e.resets for e in report)
        if resets > ctx.restarts:  # a probe the traffic restarted starts its sequence again
            problems.append(f"{resets} exporter resets, but the traffic restarted the probe "
                            f"{ctx.restarts} time(s)")
        for e in report:  # the probe numbers records from 0: a later start lost the first ones
            if e.first_sequence != 0:
                problems.append(f"{e.exporter}: the first datagram carried flow_sequence "
                                f"{e.first_sequence}: the {e.first_sequence} records before it never arrived")
        received = len(observed.find())
        if ctx.records_sent is not None and received < ctx.records_sent:  # gaps at either end
            problems.append(f"the probe sent {ctx.records_sent} records, {received} arrived: "
                            f"{ctx.records_sent - received} lost where no later datagram shows the gap")
        text = "; ".join(f"{e.exporter}: {e.datagrams} datagrams, {e.records} records, contiguous"
                         + (f" ({e.resets} restart)" if e.resets else "") for e in report)
        return self.verdict(not problems, text, problems)
