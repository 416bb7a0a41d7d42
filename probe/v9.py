"""NetFlow v9 (RFC 3954), the probe's side: the template of probe/constants.py
(`V9_RECORD`) as bytes, datagrams of records, and reading back what we wrote
(`--print`, the records file, the sender's counts).

As FreeBSD's netflow_v9.c: one template (id 256, IPv4), sent in a datagram's
template set ahead of its data set; the header's sequence counts export
packets (RFC 3954 section 5.1), its count the records of every set, the
template's included. The template rides in the first datagram and again when
`template_packets` datagrams or `template_ms` have passed since it last did
(netflow_v9.c's `templ_packets` and `templ_time`, 500 and 600 s; as in
netflow_v9.c, the datagram that opens after the time has passed carries it:
no datagram is sent for a template alone). Two of netflow_v9.c's slips are
not copied: its packet count is never incremented (`fib_export.sent_packets`:
the count never triggers), and its first template waits until the kernel has
been up for `templ_time` (it compares time_uptime with a last time of 0).
"""
from __future__ import annotations

import struct

from .constants import (ICMP, U32_MAX, V9_HEADER, V9_RECORD, V9_RECORDS_WITH_TEMPLATE,
                        V9_RECORDS_WITHOUT_TEMPLATE, V9_SET_HEADER, V9_TEMPLATE_ID,
                        V9_TEMPLATE_SET_ID, V9_TEMPLATE_SET_SIZE, V9_VERSION, layout)

HEADER = layout(V9_HEADER)
SET_HEADER = layout(V9_SET_HEADER)
RECORD = layout(V9_RECORD)
TEMPLATE_SET = (SET_HEADER.pack(V9_TEMPLATE_SET_ID, V9_TEMPLATE_SET_SIZE)
                + struct.pack("!HH", V9_TEMPLATE_ID, len(V9_RECORD))
                + b"".join(struct.pack("!HH", ie.id, struct.calcsize("!" + ie.fmt))
                           for ie in V9_RECORD))
assert len(TEMPLATE_SET) == V9_TEMPLATE_SET_SIZE


def source_id(engine_type: int, engine_id: int) -> int:
    """The header's source id: engine type and id as nfdump reads them back
    (type << 8 | id). ng_netflow puts its domain id (the FIB) in both its v5
    engine_id and its v9 source id, with engine type 0: the same value."""
    return engine_type << 8 | engine_id


class V9Encoder:
    version = V9_VERSION

    def __init__(self, *, source_id: int, template_ms: int, template_packets: int) -> None:
        if template_ms <= 0 or template_packets <= 0:
            raise ValueError("template refresh: time and datagrams must be positive")
        self.source_id = source_id
        self.template_ms = template_ms
        self.template_packets = template_packets
        self.sequence = 0  # export packets before the next one, mod 2^32
        self._last_template: tuple[int, int] | None = None  # (ms, sequence) it last rode in
        self._template = False  # the datagram being filled carries it

    def open(self, now: int) -> int:
        """A datagram starts filling at `now`: does it carry the template? Returns
        how many records it holds."""
        last = self._last_template
        self._template = (last is None or now - last[0] >= self.template_ms
                          or (self.sequence - last[1]) & U32_MAX >= self.template_packets)
        if self._template:
            self._last_template = (now, self.sequence)
        return V9_RECORDS_WITH_TEMPLATE if self._template else V9_RECORDS_WITHOUT_TEMPLATE

    def pack(self, records, now: int, uptime: int) -> bytes:
        body = b"".join(RECORD.pack(r.src, r.dst, r.next_hop, r.input, r.output, r.packets,
                                    r.octets, r.first, r.last, r.sport, r.dport, r.tcp_flags,
                                    r.proto, r.tos, 0, 0, r.src_mask, r.dst_mask,
                                    r.dport if r.proto == ICMP else 0)
                        for r in records)
        length = SET_HEADER.size + len(body)
        pad = -length % 4
        header = HEADER.pack(V9_VERSION, len(records) + self._template, uptime,
                             (now // 1000) & U32_MAX, self.sequence, self.source_id)
        self.sequence = (self.sequence + 1) & U32_MAX
        return b"".join((header, TEMPLATE_SET if self._template else b"",
                         SET_HEADER.pack(V9_TEMPLATE_ID, length + pad), body, bytes(pad)))


def carries_template(data: bytes) -> bool:
    """Whether one of our datagrams (or its first HEADER.size + 2 bytes) holds the template set."""
    return data[HEADER.size:HEADER.size + 2] == TEMPLATE_SET[:2]


def records(data: bytes) -> list[tuple]:
    """The fields of each record of one of our datagrams, in V9_RECORD's order."""
    off = HEADER.size + (V9_TEMPLATE_SET_SIZE if carries_template(data) else 0)
    n = (SET_HEADER.unpack_from(data, off)[1] - SET_HEADER.size) // RECORD.size
    off += SET_HEADER.size
    return [RECORD.unpack_from(data, off + k * RECORD.size) for k in range(n)]
