"""Expired flows -> export datagrams: records, datagram boundaries, uptime;
the format (v5.V5Encoder, v9.V9Encoder) packs the bytes and keeps the sequence.

Pure logic: `add(flow, reason, now)` and `emit(now)` build datagrams into
`self.out`; a driver sends them. Times are ms on the driver's clock; the
export carries them as ms since the probe started, wrapping at 2^32.
"""
from __future__ import annotations

import json
from typing import NamedTuple, Protocol

from .constants import ENGINE_MAX, IFINDEX_MAX, U32_MAX, V5_VERSION, V9_VERSION, Expiry
from .flow import Flow
from .v5 import V5Encoder
from .v9 import V9Encoder, source_id


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


class Encoder(Protocol):
    """One export format: how many records a datagram opened at `now` holds, and
    the datagram of those records (its header's sequence is the encoder's)."""

    version: int
    sequence: int

    def open(self, now: int) -> int: ...

    def pack(self, records: list[Record], now: int, uptime: int) -> bytes: ...


def encoder(version: int, *, engine_type: int, engine_id: int, template_ms: int,
            template_packets: int) -> Encoder:
    """The encoder of export `version` (5 or 9)."""
    if not (0 <= engine_type <= ENGINE_MAX and 0 <= engine_id <= ENGINE_MAX):
        raise ValueError("engine type and id must be 0..255")
    if version == V5_VERSION:
        return V5Encoder(engine_type=engine_type, engine_id=engine_id)
    if version == V9_VERSION:
        return V9Encoder(source_id=source_id(engine_type, engine_id), template_ms=template_ms,
                         template_packets=template_packets)
    raise ValueError(f"no export version {version} (5 or 9)")


class Exporter:
    """Expired flows -> records -> datagrams of `encoder`'s format."""

    def __init__(self, *, start_ms: int, encoder: Encoder) -> None:
        self.start_ms = start_ms
        self.encoder = encoder
        self.pending: list[Record] = []
        self.capacity = 0  # records the datagram being filled holds
        self.out: list[Datagram] = []
        self.ifindex_clamped = 0  # never silently truncated: counted and clamped

    def uptime(self, t_ms: int) -> int:
        """ms since the probe started, as the export carries it (32 bits, wrapping)."""
        return (t_ms - self.start_ms) & U32_MAX

    def add(self, flow: Flow, reason: Expiry, now: int) -> None:
        if not self.pending:
            self.capacity = self.encoder.open(now)
        key = flow.key
        inp, out = key.in_ifindex, flow.out_ifindex
        if inp > IFINDEX_MAX or out > IFINDEX_MAX:
            self.ifindex_clamped += 1
            inp, out = min(inp, IFINDEX_MAX), min(out, IFINDEX_MAX)
        self.pending.append(Record(
            key.src, key.dst, flow.next_hop, inp, out, flow.packets, flow.octets,
            self.uptime(flow.first), self.uptime(flow.last), key.sport, key.dport,
            flow.tcp_flags, key.proto, key.tos, flow.src_mask, flow.dst_mask, reason))
        if len(self.pending) == self.capacity:
            self.emit(now)

    def emit(self, now: int) -> None:
        """Send what is pending as one datagram stamped `now`."""
        records = self.pending
        if not records:
            return
        self.pending = []
        data = self.encoder.pack(records, now, self.uptime(now))
        self.out.append(Datagram(data, tuple(records)))
