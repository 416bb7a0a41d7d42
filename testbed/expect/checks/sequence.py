"""`kind: sequence` - the datagram stream is whole: no records lost, duplicated or
reordered, resets only where the traffic restarted the probe, none lost at either end.
It applies to every exporter: one whose sys_uptime goes back (fprobe) fails it,
with the count of resets and why (claims.steady_uptime).

When the lab injects faults on the export path (`impair`, `collector` steps),
what the tap did is the truth: every datagram arrived exactly as often as its
fate says (dropped: never, duplicated: twice; sent while the collector was
down: at most once), and the collector's counts of duplicates and reordered
datagrams are the tap's."""
from __future__ import annotations

from dataclasses import dataclass

from ..check import CHECKS, Check
from ..context import Context
from ..verdict import Verdict


@CHECKS.add
@dataclass(frozen=True, kw_only=True)
class Sequence(Check):
    kind = "sequence"
    explained_by = ("accounts_every_packet",)

    def explaining(self, observed) -> tuple[str, ...]:
        """Packets never read explain an exporter that sent nothing, not a broken sequence."""
        return self.explained_by if not observed.sequence and not observed.malformed else ()

    def evaluate(self, observed, ctx: Context) -> Verdict:
        report = observed.sequence
        if not report:
            return self.verdict(False, "", ["no datagram arrived"])
        path = ctx.path
        problems = list(path.problems) if path is not None else []
        for e in report:
            who = f"{e.exporter} engine {e.engine_type}/{e.engine_id}"
            if path is None:
                for got, what in ((e.records_lost, "records lost"), (e.duplicates, "duplicate datagrams"),
                                  (e.reordered, "reordered datagrams")):
                    if got:
                        problems.append(f"{who}: {got} {what}")
                continue
            twice = path.fates["duplicate"]
            if e.duplicates != twice:
                problems.append(f"{who}: the collector counted {e.duplicates} duplicates, the tap sent {twice}")
            if e.reordered != path.reordered_arrived:
                problems.append(f"{who}: the collector counted {e.reordered} reordered datagrams, "
                                f"the tap reordered {path.reordered_arrived} that arrived")
            if e.records_lost > path.lost_records:
                problems.append(f"{who}: {e.records_lost} records lost, the tap lost {path.lost_records}")
        resets = sum(e.resets for e in report)
        if resets > ctx.restarts:  # a probe the traffic restarted starts its sequence again
            steady = ctx.claims is None or ctx.claims.steady_uptime
            problems.append(f"{resets} exporter resets, but the traffic restarted the probe "
                            f"{ctx.restarts} time(s)" + ("" if steady else
                            f": {ctx.probe.kind if ctx.probe else 'the exporter'} restarts sys_uptime at "
                            "every datagram, and a collector that follows the uptime sees a restart each time"))
        for e in report:  # the probe numbers records from 0: a later start lost the first ones
            if e.first_sequence != 0 and not (path is not None and path.lost_records):
                problems.append(f"{e.exporter}: the first datagram carried flow_sequence "
                                f"{e.first_sequence}: the {e.first_sequence} records before it never arrived")
        received = len(observed.find())
        lost = path.lost_records if path is not None else 0
        if ctx.records_sent is not None and received + lost < ctx.records_sent:  # gaps at either end
            problems.append(f"the probe sent {ctx.records_sent} records, {received} arrived"
                            + (f" and the tap lost {lost}" if lost else "")
                            + f": {ctx.records_sent - received - lost} lost where no later datagram shows it")
        text = "; ".join(f"{e.exporter}: {e.datagrams} datagrams, {e.records} records"
                         + (", contiguous" if path is None else "")
                         + (f" ({e.resets} restart)" if e.resets else "") for e in report)
        if path is not None:
            text += f"; {path.summary()}: " + ("the collector saw exactly that" if not problems else "it differs")
        return self.verdict(not problems, text, problems)
