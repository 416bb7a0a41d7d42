"""The NetFlow v5 wire format, the probe's side: the structs of the layout in
probe/constants.py (the table in FIELD-BUGS.md), and reading back what we
wrote (`--print`, the records file, the sender's counts). The collector in
testbed/ has its own decoder on purpose.
"""
from __future__ import annotations

from .constants import U32_MAX, V5_HEADER, V5_MAX_RECORDS, V5_RECORD, V5_VERSION, layout

VERSION = V5_VERSION
MAX_RECORDS = V5_MAX_RECORDS
HEADER = layout(V5_HEADER)
RECORD = layout(V5_RECORD)


class V5Encoder:
    """Records -> one v5 datagram; the header's sequence counts records."""

    version = VERSION

    def __init__(self, *, engine_type: int, engine_id: int) -> None:
        self.engine_type = engine_type
        self.engine_id = engine_id
        self.sequence = 0  # records emitted before the next datagram, mod 2^32

    def open(self, now: int) -> int:
        """A datagram starts filling: it holds 30 records."""
        return MAX_RECORDS

    def pack(self, records, now: int, uptime: int) -> bytes:
        secs, ms = divmod(now, 1000)
        header = HEADER.pack(VERSION, len(records), uptime, secs & U32_MAX, ms * 1_000_000,
                             self.sequence, self.engine_type, self.engine_id, 0)
        body = b"".join(RECORD.pack(r.src, r.dst, r.next_hop, r.input, r.output, r.packets,
                                    r.octets, r.first, r.last, r.sport, r.dport, 0, r.tcp_flags,
                                    r.proto, r.tos, 0, 0, r.src_mask, r.dst_mask, 0)
                        for r in records)
        self.sequence = (self.sequence + len(records)) & U32_MAX
        return header + body


def records(data: bytes) -> list[tuple]:
    """The fields of each record of one of our datagrams, in V5_RECORD's order."""
    n = HEADER.unpack_from(data)[1]
    return [RECORD.unpack_from(data, HEADER.size + k * RECORD.size) for k in range(n)]
