"""NetFlow v5 wire format, decoded independently of the probe's encoder.

Checked by eye against the format table in FIELD-BUGS.md: a 24-byte header,
then `count` 48-byte records, all big-endian. Stricter than nfcapd 1.7, which
accepts count 0 and parses trailing bytes as one more v5 header.
"""
from __future__ import annotations

import struct
from typing import NamedTuple

from testbed.collector.model import Header

HEADER = struct.Struct("!HHIIIIBBH")
RECORD = struct.Struct("!4s4s4sHHIIIIHHBBBBHHBBH")
MAX_COUNT = 30
assert HEADER.size == 24 and RECORD.size == 48


class RawRecord(NamedTuple):
    """One record exactly as on the wire (addresses still 4 bytes)."""

    src: bytes
    dst: bytes
    next_hop: bytes
    input: int
    output: int
    packets: int
    octets: int
    first: int
    last: int
    sport: int
    dport: int
    pad1: int
    tcp_flags: int
    proto: int
    tos: int
    src_as: int
    dst_as: int
    src_mask: int
    dst_mask: int
    pad2: int


class Rejected(NamedTuple):
    reason: str
    detail: str


def decode(data: bytes) -> tuple[Header, list[RawRecord]] | Rejected:
    """Header and raw records, or why the datagram is not valid v5. Never raises."""
    if len(data) < HEADER.size:
        return Rejected("too-short", f"{len(data)} bytes, a v5 header needs 24")
    version, count, uptime, secs, nsecs, seq, etype, eid, sampling = HEADER.unpack_from(data)
    if version != 5:
        return Rejected("bad-version", f"version {version}")
    if not 1 <= count <= MAX_COUNT:
        return Rejected("bad-count", f"count {count}, must be 1..{MAX_COUNT}")
    want = HEADER.size + RECORD.size * count
    if len(data) != want:
        return Rejected("length-mismatch", f"{len(data)} bytes, count {count} needs {want}")
    header = Header(5, count, uptime, secs, nsecs, seq, etype, eid, sampling >> 14, sampling & 0x3FFF)
    records = [RawRecord._make(r) for r in RECORD.iter_unpack(memoryview(data)[HEADER.size:])]
    return header, records
