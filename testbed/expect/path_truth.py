"""What the export path did to a probe's datagrams (the tap's log), against what arrived.

The tap (testbed/faults/tap.py) logs every datagram's fate: passed, delayed,
reordered, duplicated, dropped, or unsent (no route), and when each copy
left. With the times a `collector` step had the collector down, that says
exactly how many times each datagram (by flow_sequence) must have arrived:
0, 1 or 2; one sent while the collector was down may arrive (it was still
draining its socket) or not, and counts as it did.

The log is also the order the copies left in (by send time: a long delay
that a later policy cleared reorders as surely as `reorder` does), so it
says what the collector's sequence report must be: the same tracker the
referee runs (testbed/collector/sequence.py) fed the copies that must have
arrived, in the order they left. `PathTruth` holds that expected report, the
records the path lost (for conservation) and every datagram whose arrivals
differ.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ..collector.model import Header
from ..collector.sequence import ExporterReport, SequenceTracker

ARRIVALS = {"pass": 1, "delay": 1, "reorder": 1, "duplicate": 2, "drop": 0}
TAP = "tap"  # the exporter's name in the expected report (one exporter: the probe's engine)


@dataclass
class PathTruth:
    fates: Counter = field(default_factory=Counter)  # action -> datagrams
    lost: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))  # flow key -> [packets, octets]
    lost_records: int = 0
    in_outage: int = 0  # datagrams sent while the collector was down (and not received)
    problems: list[str] = field(default_factory=list)
    # the collector's sequence report for this exporter as the log makes it (None: nothing must arrive)
    expected: ExporterReport | None = None

    @property
    def datagrams(self) -> int:
        """Datagrams the tap handled (each once, whatever its fate)."""
        return sum(n for a, n in self.fates.items() if a in ARRIVALS)

    def summary(self) -> str:
        done = ", ".join(f"{n} {a}" for a, n in sorted(self.fates.items()))
        out = f"the tap saw {self.datagrams} datagrams ({done})"
        if self.in_outage:
            out += f"; {self.in_outage} sent while the collector was down"
        return out

    def expectation(self) -> str:
        """What the log says the collector must count, in words."""
        e = self.expected
        if e is None:
            return "so none may arrive"
        counts = [f"{n} {what}" for n, what in ((e.duplicates, "duplicate"), (e.reordered, "reordered"),
                                                 (e.records_lost, "records in gaps"), (e.resets, "reset")) if n]
        return f"so the collector must count {e.datagrams} datagrams, " + (", ".join(counts) or "all in order")


def path_truth(entries: list[dict], datagrams, outages, engine: tuple[int, int]) -> PathTruth:
    """`entries`: the tap's log; `datagrams`: the collector's (of this exporter);
    `outages`: [(down_at, up_at or None)] of the collector."""
    truth = PathTruth()
    arrived = Counter((d.header.flow_sequence, d.header.sys_uptime) for d in datagrams)
    unsent = {_id(e) for e in entries if e.get("action") == "unsent"}
    if unsent:
        truth.fates["unsent (no route)"] = len(unsent)
    expected: dict[tuple[int, int], tuple[int, dict]] = {}
    copies = []  # (when it left, its place in the log, header): what must have arrived, in order
    seen = set()
    for i, e in enumerate(entries):
        if e.get("action") not in ARRIVALS or tuple(e.get("engine", ())) != tuple(engine):
            continue
        key = _id(e)
        seen.add(key)
        truth.fates[e["action"]] += 1
        n = 0 if key in unsent else ARRIVALS[e["action"]]
        if n and _during(e["sent"], outages):
            if arrived[key] < n:
                truth.in_outage += 1
            if not arrived[key]:  # one copy of a duplicate that arrived carried its records
                _lose(truth, e)
            copies += [(e["sent"], i, _header(e, engine))] * min(n, arrived[key])
            continue
        expected[key] = (n, e)
        copies += [(e["sent"], i, _header(e, engine))] * n
        if n == 0:
            _lose(truth, e)
    for key, (n, e) in sorted(expected.items()):
        got = arrived[key]
        if got != n:
            truth.problems.append(f"datagram flow_sequence {key[0]} ({e['count']} records, {e['action']} "
                                  f"by the tap) should have arrived {n} time(s), arrived {got}")
    truth.problems += [f"datagram flow_sequence {k[0]} arrived but never went through the tap"
                       for k in sorted(arrived) if k not in seen]
    tracker = SequenceTracker()
    for _, _, header in sorted(copies, key=lambda c: (c[0], c[1])):
        tracker.observe(TAP, header)
    truth.expected = next(iter(tracker.reports()), None)
    return truth


def _id(e: dict) -> tuple:
    return (e.get("seq"), e.get("uptime"))


def _header(e: dict, engine: tuple[int, int]) -> Header:
    """The header fields the sequence tracker reads, as the tap logged them."""
    export_ms = e.get("export_ms", 0)
    return Header(5, e["count"], e["uptime"], export_ms // 1000, export_ms % 1000 * 1_000_000, e["seq"],
                  engine[0], engine[1], 0, 0)


def _during(at: float | None, outages) -> bool:
    return at is not None and any(down <= at and (up is None or at <= up) for down, up in outages)


def _lose(truth: PathTruth, e: dict) -> None:
    truth.lost_records += e["count"]
    for src, dst, sport, dport, proto, tos, packets, octets in e["records"]:
        lost = truth.lost[(src, dst, sport, dport, proto, tos)]
        lost[0] += packets
        lost[1] += octets
