"""Expired flows -> NetFlow v5 datagrams (sequence, uptime, 30-record limit).

Pure logic: `add(flow, reason, now)` and `emit(now)` build datagrams into
`self.out`; a driver sends them. Times are ms on the driver's clock; the
export carries them as ms since the probe started, wrapping at 2^32.
"""
from __future__ import annotations

import json
from typing import NamedTuple

from .constants import ENGINE_MAX, IFINDEX_MAX, U32_MAX, Expiry
from .flow import Flow
from .v5 import HEADER, MAX_RECORDS, RECORD, VERSION


class Record(NamedTuple):
    """One exported record; `reason` says why it expired (not on the wire)."""

    src: int
    dst: int
    next_hop: int
    input: int
    output: int
    packets: int
    octets: int
    first: int  # sys_uptime units at flow start
    last: int
    sport: int
    dport: int
    tcp_flags: int
    proto: int
    tos: int
    src_mask: int
    dst_mask: int
    reason: Expiry

    def as_dict(self) -> dict:
        """The record as `--print` and the records file show it: dotted
        addresses, the reason by name."""
        d = self._asdict()
        for name in ("src", "dst", "next_hop"):
            d[name] = dotted(d[name])
        d["reason"] = self.reason.label
        return d

    def as_json(self) -> str:
        return json.dumps(self.as_dict(), separators=(",", ":"))


class Datagram(NamedTuple):
    data: bytes
    records: tuple[Record, ...]


def dotted(addr: int) -> str:
    return f"{addr >> 24}.{(addr >> 16) & 255}.{(addr >> 8) & 255}.{addr & 255}"


class Exporter:
    def __init__(self, *, start_ms: int, engine_type: int = 0, engine_id: int = 0) -> None:
        if not (0 <= engine_type <= ENGINE_MAX and 0 <= engine_id <= ENGINE_MAX):
            raise ValueError("engine type and id must be 0..255")
        self.start_ms = start_ms
        self.engine_type = engine_type
        self.engine_id = engine_id
        self.sequence = 0  # records emitted before the next datagram, mod 2^32
        self.pending: list[Record] = []
        self.out: list[Datagram] = []
        self.ifindex_clamped = 0  # never silently truncated: counted and clamped

    def uptime(self, t_ms: int) -> int:
        """ms since the probe started, as the export carries it (32 bits, wrapping)."""
        return (t_ms - self.start_ms) & U32_MAX

    def add(self, flow: Flow, reason: Expiry, now: int) -> None:
        key = flow.key
        inp, out = key.in_ifindex, flow.out_ifindex
        if inp > IFINDEX_MAX or out > IFINDEX_MAX:
            self.ifindex_clamped += 1
            inp, out = min(inp, IFINDEX_MAX), min(out, IFINDEX_MAX)
        self.pending.append(Record(
            key.src, key.dst, flow.next_hop, inp, out, flow.packets, flow.octets,
            self.uptime(flow.first), self.uptime(flow.last), key.sport, key.dport,
            flow.tcp_flags, key.proto, key.tos, flow.src_mask, flow.dst_mask, reason))
        if len(self.pending) == MAX_RECORDS:
            self.emit(now)

    def emit(self, now: int) -> None:
        """Send what is pending as one datagram stamped `now`."""
        records = self.pending
        if not records:
            return
        self.pending = []
        secs, ms = divmod(now, 1000)
        header = HEADER.pack(VERSION, len(records), self.uptime(now), secs & U32_MAX,
                             ms * 1_000_000, self.sequence, self.engine_type,
                             self.engine_id, 0)
        body = b"".join(RECORD.pack(r.src, r.dst, r.next_hop, r.input, r.output,
                                    r.packets, r.octets, r.first, r.last, r.sport,
                                    r.dport, 0, r.tcp_flags, r.proto, r.tos, 0, 0,
                                    r.src_mask, r.dst_mask, 0) for r in records)
        self.sequence = (self.sequence + len(records)) & U32_MAX
        self.out.append(Datagram(header + body, tuple(records)))
