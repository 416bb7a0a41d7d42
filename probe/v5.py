"""The NetFlow v5 wire format (the probe's encoder side).

Layout as in FIELD-BUGS.md: a 24-byte header, then `count` 48-byte records,
big-endian. The collector in testbed/ has its own decoder on purpose.
"""
from __future__ import annotations

import struct

VERSION = 5
MAX_RECORDS = 30

# version, count, sys_uptime, unix_secs, unix_nsecs, flow_sequence,
# engine_type, engine_id, sampling_interval
HEADER = struct.Struct("!HHIIIIBBH")
# src, dst, nexthop, input, output, packets, octets, first, last,
# srcport, dstport, pad1, tcp_flags, proto, tos, src_as, dst_as,
# src_mask, dst_mask, pad2
RECORD = struct.Struct("!IIIHHIIIIHHBBBBHHBBH")
assert HEADER.size == 24 and RECORD.size == 48
