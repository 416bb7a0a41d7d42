"""The reference engine and the fast engine side by side, fed the same input,
compared after every step: datagrams (bytes and records with their reasons),
statistics, the next scan's time, the live flows in LRU order."""
from __future__ import annotations

import struct

from probe.engine import Config, Probe
from probe.fast.engine import FastProbe


def flow_tuples(flows) -> list[tuple]:
    return [(f.key, f.packets, f.octets, f.first, f.last, f.tcp_flags, f.out_ifindex,
             f.next_hop, f.src_mask, f.dst_mask) for f in flows]


class Twins:
    def __init__(self, config: Config, routes=None, start_ms: int = 0, **table) -> None:
        self.ref = Probe(config, routes, start_ms)
        self.fast = FastProbe(config, routes, start_ms, **table)
        self.datagrams = 0

    def both(self, method: str, *args) -> None:
        getattr(self.ref, method)(*args)
        getattr(self.fast, method)(*args)
        self.compare()

    def compare(self) -> None:
        ref, fast = self.ref, self.fast
        want, got = ref.datagrams_to_send(), fast.datagrams_to_send()
        assert [d.data for d in got] == [d.data for d in want]
        assert [d.records for d in got] == [d.records for d in want]
        self.datagrams += len(want)
        assert fast.stats.as_dict() == ref.stats.as_dict()
        assert fast.next_timer_ms() == ref.next_timer_ms()
        assert flow_tuples(fast.flows()) == flow_tuples(ref.flows())
        fast.engine.check()


U16 = struct.Struct("!H")


def ipv4(src: int, dst: int, proto: int, *, tos: int = 0, total: int | None = None,
         ihl: int = 5, version: int = 4, frag: int = 0, l4: bytes = b"") -> bytes:
    opts = bytes(max(0, ihl * 4 - 20))
    if total is None:
        total = 20 + len(opts) + len(l4)
    return struct.pack("!BBHHHBBHII", (version << 4) | ihl, tos, total & 0xFFFF, 1, frag, 64,
                       proto, 0, src, dst) + opts + l4


def l4_header(proto: int, sport: int, dport: int, flags: int) -> bytes:
    if proto == 6:
        return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, flags, 65535, 0, 0)
    if proto == 17:
        return struct.pack("!HHHH", sport, dport, 8, 0)
    if proto == 1:
        return struct.pack("!BBHHH", dport >> 8, dport & 255, 0, 0, 0)
    return bytes(8)


def link(linktype: int, ip: bytes, *, ethertype: int = 0x0800, vlans: int = 0) -> bytes:
    """`ip` as `linktype` frames it (Ethernet with `vlans` tags, raw, SLL, SLL2)."""
    if linktype == 1:
        tags = b"".join(U16.pack(0x8100) + U16.pack(7) for _ in range(vlans))
        return bytes(12) + tags + U16.pack(ethertype) + ip
    if linktype == 113:
        return bytes(14) + U16.pack(ethertype) + ip
    if linktype == 276:
        return U16.pack(ethertype) + bytes(18) + ip
    return ip  # raw IPv4 (101, 12, 228) and link types nobody reads
