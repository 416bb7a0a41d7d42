"""Do two record sets agree: the live probe's (from the collector) and the offline
probe's (from `python -m probe -r --print`) for the same replayed packets.

Pure. Records are grouped by the v5 key with the input ifindex; each key
must have as many records on both sides, with the same counts, output
ifindex, next hop, masks and TCP flags, and start/end times within the
tolerance (the replay's measured lag plus the clock's slack). Why flows
expired is compared as counts per reason, where the live side has them (its
statistics); expiry by time at the end of the traffic (inactive, shutdown,
flush) is one group, as the offline run ends at its last packet and the
live one some time later.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

FIELDS = ("packets", "octets", "output", "next_hop", "src_mask", "dst_mask", "tcp_flags")
AT_THE_END = {"inactive", "shutdown", "flush"}
SHOWN = 12


@dataclass(frozen=True)
class Rec:
    key: tuple  # src, dst, sport, dport, proto, tos, input
    packets: int
    octets: int
    output: int
    next_hop: str
    src_mask: int
    dst_mask: int
    tcp_flags: int
    start_ms: int
    end_ms: int

    def key_text(self) -> str:
        src, dst, sport, dport, proto, tos, inp = self.key
        name = {6: "tcp", 17: "udp", 1: "icmp"}.get(proto, str(proto))
        return f"{name} {src}:{sport} -> {dst}:{dport} tos {tos} in {inp}"


def from_collector(r) -> Rec:
    """A testbed.collector FlowRecord."""
    return Rec((r.src, r.dst, r.sport, r.dport, r.proto, r.tos, r.input), r.packets, r.octets,
               r.output, r.next_hop, r.src_mask, r.dst_mask, r.tcp_flags, r.start_ms, r.end_ms)


def from_offline(d: dict, start_ms: int) -> Rec:
    """A JSON line of `python -m probe --print` (times: ms since its first packet, `start_ms`)."""
    return Rec((d["src"], d["dst"], d["sport"], d["dport"], d["proto"], d["tos"], d["input"]),
               d["packets"], d["octets"], d["output"], d["next_hop"], d["src_mask"], d["dst_mask"],
               d["tcp_flags"], start_ms + d["first"], start_ms + d["last"])


def reason_groups(counts: dict) -> Counter:
    out: Counter = Counter()
    for reason, n in counts.items():
        out["time, at the end" if reason in AT_THE_END else reason] += n
    return out


@dataclass
class Agreement:
    live: int = 0  # records
    offline: int = 0
    keys: int = 0
    worst_ms: int = 0  # the largest start/end difference of matched records
    tolerance_ms: int = 0
    differences: list[str] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        return not self.differences

    def lines(self) -> list[str]:
        head = (f"{self.keys} flow keys: {self.live} records live, {self.offline} offline; times within "
                f"{self.worst_ms} ms (tolerance {self.tolerance_ms} ms)")
        shown = self.differences[:SHOWN]
        more = len(self.differences) - len(shown)
        return [head] + [f"  - {d}" for d in shown] + ([f"  ... and {more} more"] if more > 0 else [])


def compare(live: list[Rec], offline: list[Rec], tolerance_ms: int,
            live_reasons: dict | None = None, offline_reasons: dict | None = None) -> Agreement:
    by_key: dict[tuple, tuple[list, list]] = defaultdict(lambda: ([], []))
    for r in live:
        by_key[r.key][0].append(r)
    for r in offline:
        by_key[r.key][1].append(r)
    out = Agreement(len(live), len(offline), len(by_key), tolerance_ms=tolerance_ms)
    for key in sorted(by_key, key=str):
        a, b = (sorted(side, key=lambda r: r.start_ms) for side in by_key[key])
        name = (a or b)[0].key_text()
        if len(a) != len(b):
            out.differences.append(f"{name}: {len(a)} records live, {len(b)} offline "
                                   f"(packets {_counts(a)} live, {_counts(b)} offline)")
            continue
        for i, (x, y) in enumerate(zip(a, b)):
            which = f"{name}" + (f" record {i + 1}" if len(a) > 1 else "")
            for f in FIELDS:
                if getattr(x, f) != getattr(y, f):
                    out.differences.append(f"{which}: {f} {getattr(x, f)} live, {getattr(y, f)} offline")
            off = max(abs(x.start_ms - y.start_ms), abs(x.end_ms - y.end_ms))
            out.worst_ms = max(out.worst_ms, off)
            if off > tolerance_ms:
                out.differences.append(f"{which}: times differ by {off} ms (live {x.start_ms}..{x.end_ms}, "
                                       f"offline {y.start_ms}..{y.end_ms})")
    if live_reasons is not None and offline_reasons is not None:
        got, want = reason_groups(live_reasons), reason_groups(offline_reasons)
        for reason in sorted(set(got) | set(want)):
            if got[reason] != want[reason]:
                out.differences.append(f"flows expired by {reason}: {got[reason]} live, {want[reason]} offline")
    return out


def _counts(recs: list[Rec]) -> str:
    return "+".join(str(r.packets) for r in recs) or "0"
