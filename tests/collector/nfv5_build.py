"""NetFlow v5 datagrams built by the tests with struct, from the format table.

Written apart from both the probe's encoder and the collector's decoder, so a
shared misreading of the format cannot make a test pass.
"""
from __future__ import annotations

import socket
import struct

UNIX_MS = 1_790_000_000_000  # a fixed "now" for pure tests


def ip(a: str) -> bytes:
    return socket.inet_aton(a)


def record(src="10.0.1.1", dst="10.0.2.1", next_hop="10.0.9.1", input=1, output=2, packets=3, octets=300,
           first=90_000, last=99_000, sport=1234, dport=53, pad1=0, tcp_flags=0, proto=17, tos=0,
           src_as=0, dst_as=0, src_mask=24, dst_mask=16, pad2=0) -> bytes:
    return (ip(src) + ip(dst) + ip(next_hop)
            + struct.pack(">HHIIII", input, output, packets, octets, first, last)
            + struct.pack(">HHBBBB", sport, dport, pad1, tcp_flags, proto, tos)
            + struct.pack(">HHBBH", src_as, dst_as, src_mask, dst_mask, pad2))


def datagram(records: list[bytes] | int = 1, *, seq=0, uptime=100_000, unix_ms=UNIX_MS, engine_type=0,
             engine_id=0, sampling=0, version=5, count=None) -> bytes:
    """`records`: record bytes, or how many default records."""
    if isinstance(records, int):
        records = [record(first=(uptime - 10_000) % 2**32, last=(uptime - 1_000) % 2**32)] * records
    n = len(records) if count is None else count
    header = struct.pack(">HHIIIIBBH", version, n, uptime, unix_ms // 1000, unix_ms % 1000 * 1_000_000,
                         seq, engine_type, engine_id, sampling)
    return header + b"".join(records)
