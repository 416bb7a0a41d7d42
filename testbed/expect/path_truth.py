"""What the export path did to a probe's datagrams (the tap's log), against what arrived.

The tap (testbed/faults/tap.py) logs every datagram's fate: passed, delayed,
reordered, duplicated, dropped, or unsent (no route). With the times a
`collector` step had the collector down, that says exactly how many times
each datagram (by flow_sequence) must have arrived: 0, 1 or 2; one sent while
the collector was down may arrive (it was still draining its socket) or not.
`PathTruth` holds that expectation, the records the path lost (for
conservation) and every datagram whose arrivals differ.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

ARRIVALS = {"pass": 1, "delay": 1, "reorder": 1, "duplicate": 2, "drop": 0}


@dataclass
class PathTruth:
    fates: Counter = field(default_factory=Counter)  # action -> datagrams
    lost: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))  # flow key -> [packets, octets]
    lost_records: int = 0
    in_outage: int = 0  # datagrams sent while the collector was down (and not received)
    problems: list[str] = field(default_factory=list)
    reordered_arrived: int = 0  # reordered datagrams that arrived (the collector must see each)

    def summary(self) -> str:
        done = ", ".join(f"{n} {a}" for a, n in sorted(self.fates.items()))
        out = f"the tap saw {sum(self.fates.values())} datagrams ({done})"
        if self.in_outage:
            out += f"; {self.in_outage} sent while the collector was down"
        return out


def path_truth(entries: list[dict], datagrams, outages, engine: tuple[int, int]) -> PathTruth:
    """`entries`: the tap's log; `datagrams`: the collector's (of this exporter);
    `outages`: [(down_at, up_at or None)] of the collector."""
    truth = PathTruth()
    arrived = Counter((d.header.flow_sequence, d.header.sys_uptime) for d in datagrams)
    unsent = {_id(e) for e in entries if e.get("action") == "unsent"}
    if unsent:
        truth.fates["unsent (no route)"] = len(unsent)
    expected: dict[tuple[int, int], tuple[int, dict]] = {}
    seen = set()
    for e in entries:
        if e.get("action") not in ARRIVALS or tuple(e.get("engine", ())) != tuple(engine):
            continue
        key = _id(e)
        seen.add(key)
        truth.fates[e["action"]] += 1
        n = 0 if key in unsent else ARRIVALS[e["action"]]
        if n and _during(e["sent"], outages):
            if arrived[key] < n:
                truth.in_outage += 1
                _lose(truth, e)
            continue
        expected[key] = (n, e)
        if n == 0:
            _lose(truth, e)
    for key, (n, e) in sorted(expected.items()):
        got = arrived[key]
        if got != n:
            truth.problems.append(f"datagram flow_sequence {key[0]} ({e['count']} records, {e['action']} "
                                  f"by the tap) should have arrived {n} time(s), arrived {got}")
        if e["action"] == "reorder" and got:
            truth.reordered_arrived += 1
    truth.problems += [f"datagram flow_sequence {k[0]} arrived but never went through the tap"
                       for k in sorted(arrived) if k not in seen]
    return truth


def _id(e: dict) -> tuple:
    return (e.get("seq"), e.get("uptime"))


def _during(at: float | None, outages) -> bool:
    return at is not None and any(down <= at and (up is None or at <= up) for down, up in outages)


def _lose(truth: PathTruth, e: dict) -> None:
    truth.lost_records += e["count"]
    for src, dst, sport, dport, proto, tos, packets, octets in e["records"]:
        lost = truth.lost[(src, dst, sport, dport, proto, tos)]
        lost[0] += packets
        lost[1] += octets
