"""`kind: sequence` - the datagram stream is whole: no records lost, duplicated or
reordered, resets only where the traffic restarted the probe, none lost at either end.
It applies to every exporter: one whose sys_uptime goes back (fprobe) fails it,
with the count of resets and why (claims.steady_uptime). v9 streams count export
packets, IPFIX ones data records; an exporter whose numbers count something
else is judged by what they count, and the verdict says what that is (the
collector's `sequence-counting` finding names it as a fault of its own).

When the lab injects faults on the export path (`impair`, `collector` steps),
what the tap did is the truth: every datagram arrived exactly as often as its
fate says (dropped: never, duplicated: twice; sent while the collector was
down: at most once), and the collector's sequence report - datagrams,
duplicates, reorders, records in gaps, resets, where the stream starts - is
the one the tap's log makes (expect/path_truth.py). Everything dropped on
purpose is a pass: nothing was to arrive.

The verdict line says what was counted. Datagrams the collector's own socket
dropped (its buffer was full) are named: the referee lost them, not the path.
A check with nothing to judge (no datagram, or only malformed ones) fails.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..check import CHECKS, Check
from ..context import Context
from ..verdict import Verdict

# (report field, what it counts) compared with what the tap's log makes
COUNTED = (("datagrams", "datagrams"), ("duplicates", "duplicates"), ("reordered", "reordered datagrams"),
           ("records_lost", "records in gaps"), ("resets", "resets"), ("first_sequence", "first flow_sequence"))


def socket_drops(observed) -> int:
    """Datagrams the collector's socket dropped (every run of it), from its live facts."""
    live = observed.live or {}
    return sum(int(r.get("socket_drops") or 0) for r in live.get("runs", [live]))


def stream_text(e) -> str:
    """One exporter's stream as counted: contiguous only when it is."""
    parts = [f"{e.datagrams} datagrams, {e.records} records"]
    faults = [f"{n} {what}" for n, what in ((e.records_lost, f"{e.unit} lost in gaps"), (e.duplicates, "duplicate"),
                                             (e.reordered, "reordered"), (e.resets, "reset")) if n]
    if e.first_sequence:
        faults.append(f"starting at flow_sequence {e.first_sequence}")
    counting = [f"its sequence numbers count {e.counting}"] if e.counting else []
    return f"{e.exporter}: " + ", ".join(parts + (faults or ["contiguous"]) + counting)


@CHECKS.add
@dataclass(frozen=True, kw_only=True)
class Sequence(Check):
    kind = "sequence"
    explained_by = ("accounts_every_packet",)

    def explaining(self, observed) -> tuple[str, ...]:
        """Packets never read explain an exporter that sent nothing, not a broken sequence."""
        return self.explained_by if not observed.sequence and not observed.malformed else ()

    def evaluate(self, observed, ctx: Context) -> Verdict:
        report, path = observed.sequence, ctx.path
        drops = socket_drops(observed)
        dropped = ([f"the collector's own socket dropped {drops} datagrams (its receive buffer was full): "
                    "the referee lost them, not the export path"] if drops else [])
        if not report:
            return self._nothing_arrived(observed, ctx, dropped)
        problems = list(path.problems) if path is not None else []
        for e in report:
            who = str(e.stream)
            if path is None:
                for got, what in ((e.records_lost, f"{e.unit} lost"), (e.duplicates, "duplicate datagrams"),
                                  (e.reordered, "reordered datagrams")):
                    if got:
                        problems.append(f"{who}: {got} {what}")
                continue
            want = path.expected
            for name, what in COUNTED:
                got, should = getattr(e, name), getattr(want, name) if want is not None else 0
                if got != should:
                    problems.append(f"{who}: {what}: the collector counted {got}, the tap's log makes {should}")
        resets = sum(e.resets for e in report)
        if path is None and resets > ctx.restarts:  # a probe the traffic restarted starts its sequence again
            problems.append(f"{resets} exporter resets, but the traffic restarted the probe "
                            f"{ctx.restarts} time(s)" + ("" if ctx.claims.steady_uptime else
                            f": {ctx.exporter.who} restarts sys_uptime at "
                            "every datagram, and a collector that follows the uptime sees a restart each time"))
        for e in report:  # the probe numbers records from 0: a later start lost the first ones
            if path is None and e.first_sequence != 0:
                problems.append(f"{e.exporter}: the first datagram carried flow_sequence "
                                f"{e.first_sequence}: the {e.first_sequence} {e.unit} before it never arrived")
        received = len(observed.find())
        lost = path.lost_records if path is not None else 0
        if ctx.records_sent is not None and received + lost < ctx.records_sent:  # gaps at either end
            problems.append(f"the probe sent {ctx.records_sent} records, {received} arrived"
                            + (f" and the tap lost {lost}" if lost else "")
                            + f": {ctx.records_sent - received - lost} lost where no later datagram shows it")
        problems += dropped
        text = "; ".join(stream_text(e) for e in report)
        if path is not None:
            text += (f"; {path.summary()}, {path.expectation()}: "
                     + ("the collector saw exactly that" if not problems else "it differs"))
        return self.verdict(not problems, text, problems)

    def _nothing_arrived(self, observed, ctx: Context, dropped: list[str]) -> Verdict:
        """No valid datagram: a pass only when the tap's log says none was to arrive."""
        bad = len(observed.malformed)
        malformed = ([f"{bad} malformed datagrams arrived and no valid one: nothing to follow a sequence in "
                      "(see no_malformed)"] if bad else [])
        path = ctx.path
        if path is not None and path.datagrams:
            ok = path.expected is None and not path.problems and not malformed and not dropped
            text = f"no datagram arrived; {path.summary()}, {path.expectation()}"
            return self.verdict(ok, text, list(path.problems) + malformed + dropped)
        sent = ctx.records_sent
        why = malformed or ["no datagram arrived: nothing to judge"
                            + (f" (the probe says it sent {sent} records)" if sent else
                               " (the probe sent none)" if sent == 0 else "")]
        return self.verdict(False, "", why + dropped)
