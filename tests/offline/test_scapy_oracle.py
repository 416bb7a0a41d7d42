"""Scapy as an independent v5 decoder: every datagram the probe builds must
decode (scapy.layers.netflow) to exactly the `Record`s it says it holds, with
a header whose count, uptime, time, sequence and engine fields are right."""
from __future__ import annotations

import socket

from hypothesis import given, settings, strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.layers.netflow import NetflowHeader, NetflowHeaderV5, NetflowRecordV5

from probe import quirks as Q
from probe.constants import Expiry
from probe.engine import Config, Probe
from probe.export import Record
from probe.flow import Flow
from probe.packet import FlowKey, Packet
from probe.r135400 import QuirkyProbe
from probe.routes import Route

U16, U32 = 0xFFFF, 0xFFFFFFFF
T0 = 1_700_000_000_000


def _ip(text: str) -> int:
    return int.from_bytes(socket.inet_aton(text), "big")


def scapy_records(data: bytes) -> tuple[NetflowHeaderV5, list[Record]]:
    pkt = NetflowHeader(data)
    assert pkt.version == 5
    h = pkt[NetflowHeaderV5]
    out, rec = [], h.payload
    while isinstance(rec, NetflowRecordV5):
        assert (rec.pad1, rec.pad2, rec.src_as, rec.dst_as) == (0, 0, 0, 0)
        out.append((_ip(rec.src), _ip(rec.dst), _ip(rec.nexthop), rec.input, rec.output,
                    rec.dpkts, rec.dOctets, rec.first, rec.last, rec.srcport, rec.dstport,
                    int(rec.tcpFlags), int(rec.prot), rec.tos, rec.src_mask, rec.dst_mask))
        rec = rec.payload
    assert not rec, f"bytes after the last record: {bytes(rec)!r}"
    return h, out


class Oracle:
    """Pops a probe's datagrams after each driver call and checks each one."""

    def __init__(self, probe: Probe, start: int, divisor: int = 1) -> None:
        self.probe, self.start, self.divisor = probe, start, divisor
        self.sequence = 0
        self.prev_now = start
        self.records: list[Record] = []
        self.counts: list[int] = []

    def pop(self, now: int) -> None:
        cfg = self.probe.config
        for d in self.probe.datagrams_to_send():
            h, got = scapy_records(d.data)
            assert got == [tuple(r[:-1]) for r in d.records]  # all but `reason`
            assert h.count == len(d.records) == len(got) and 1 <= h.count <= 30
            assert len(d.data) == 24 + 48 * h.count
            assert h.flowSequence == self.sequence
            assert (h.engineType, h.engineID, h.samplingInterval) == (
                cfg.engine_type, cfg.engine_id, 0)
            assert h.unixNanoSeconds % 1_000_000 == 0 and h.unixNanoSeconds < 10**9
            stamp = h.unixSecs * 1000 + h.unixNanoSeconds // 1_000_000
            assert self.prev_now <= stamp <= now  # stamped at a scan or packet within the call
            assert h.sysUptime == ((stamp - self.start) // self.divisor) & U32
            self.sequence = (self.sequence + h.count) & U32
            self.records += d.records
            self.counts.append(h.count)
        self.prev_now = now


def test_full_and_partial_datagrams():
    p = Probe(Config(engine_type=1, engine_id=2), start_ms=T0)
    o = Oracle(p, T0)
    for port in range(95):
        p.handle_packet(Packet(FlowKey(_ip("10.0.0.1"), _ip("10.0.0.2"), port, 53, 17, 0, 3),
                               100 + port, 0), T0 + port)
        o.pop(T0 + port)
    p.flush(T0 + 500)
    o.pop(T0 + 500)
    assert o.counts == [30, 30, 30, 5]
    assert sorted(r.octets for r in o.records) == [100 + port for port in range(95)]


def test_fin_fills_datagrams_as_packets_arrive():
    p = Probe(Config(), start_ms=T0)
    o = Oracle(p, T0)
    for port in range(61):
        p.handle_packet(Packet(FlowKey(1, 2, port, 80, 6, 0, 1), 40, 0x11), T0 + 7 * port)
        o.pop(T0 + 7 * port)
    p.handle_timer(T0 + 2000)
    o.pop(T0 + 2000)
    assert o.counts == [30, 30, 1]


def test_uptime_wrap():
    start = T0 - (2**32 - 1000)  # uptime passes 2^32 ms at T0 + 1000
    p = Probe(Config(inactive_ms=5000), start_ms=start)
    o = Oracle(p, start)
    k = FlowKey(1, 2, 3, 4, 17, 0, 1)
    for t in (T0, T0 + 999, T0 + 1000, T0 + 1001, T0 + 4000):
        p.handle_packet(Packet(k, 64, 0), t)
        o.pop(t)
    p.handle_timer(T0 + 10_000)
    o.pop(T0 + 10_000)
    (r,) = o.records
    assert (r.first, r.last) == (2**32 - 1000, 3000)


# -- every field over its range, through the probe's own exporter ------------

u32 = st.integers(0, U32)
flows = st.lists(st.tuples(u32, u32, u32, st.integers(0, U16), st.integers(0, U16),
                           st.integers(0, 255), st.integers(0, 255), st.integers(0, 2**32 + 99),
                           st.integers(0, 2**32 + 99), u32, u32, st.integers(0, 255),
                           st.integers(0, 32), st.integers(0, 32),
                           st.integers(0, 2**34), st.integers(0, 2**34)),
                 min_size=1, max_size=70)


@settings(max_examples=150, deadline=None)
@given(flows, st.integers(0, 255), st.integers(0, 255), st.integers(0, 4 * 10**12),
       st.booleans(), u32)
def test_every_field_range(specs, engine_type, engine_id, start, seconds, sequence):
    quirks = frozenset({Q.UPTIME_SECONDS}) if seconds else frozenset()
    p = QuirkyProbe(Config(engine_type=engine_type, engine_id=engine_id, quirks=quirks),
                    start_ms=start)
    p.exporter.encoder.sequence = sequence
    o = Oracle(p, start, 1000 if seconds else 1)
    o.sequence = sequence
    now = start
    for (src, dst, hop, sport, dport, proto, tos, inp, out, packets, octets, tcp_flags,
         smask, dmask, d_first, d_len) in specs:
        f = Flow(FlowKey(src, dst, sport, dport, proto, tos, inp), start + d_first)
        f.last = f.first + d_len
        f.packets, f.octets, f.tcp_flags = packets, octets, tcp_flags
        f.out_ifindex, f.next_hop, f.src_mask, f.dst_mask = out, hop, smask, dmask
        now = max(now, f.last)
        p.exporter.add(f, Expiry.INACTIVE, now)
        r = p.exporter.pending[-1] if p.exporter.pending else p.exporter.out[-1].records[-1]
        assert (r.input, r.output) == (min(inp, U16), min(out, U16))  # clamped, not wrapped
        o.pop(now)
    p.exporter.emit(now + 1)
    o.pop(now + 1)
    assert len(o.records) == len(specs)


# -- packets and frames through the whole probe -------------------------------

class Routes:
    def __init__(self, table: dict[int, Route]) -> None:
        self.table = table

    def lookup(self, addr: int) -> Route | None:
        return self.table.get(addr)


addrs = st.sampled_from([_ip("10.0.0.1"), _ip("10.0.0.2"), _ip("192.0.2.9"), 0, U32])
routes = st.dictionaries(addrs, st.builds(Route, st.integers(0, 70_000), u32, st.integers(0, 32)))
packets = st.lists(st.tuples(addrs, addrs, st.integers(0, U16), st.sampled_from([1, 6, 17, 47]),
                             st.sampled_from([0, 0xB8]), st.integers(0, 70_000),
                             st.integers(20, U16), st.integers(0, 255),
                             st.integers(0, 20_000)),
                   max_size=120)


@settings(max_examples=150, deadline=None)
@given(packets, routes, st.integers(0, 2**33), st.integers(1, 3000), st.integers(1, 3000))
def test_probe_datagrams(stream, table, skip, inactive, scan):
    start = T0 - skip  # up to ~100 days of uptime: some runs cross 2^32 ms
    p = Probe(Config(inactive_ms=inactive, scan_ms=scan, engine_id=9), Routes(table), start)
    o = Oracle(p, start)
    now = T0
    for src, dst, port, proto, tos, ifindex, octets, flags, dt in stream:
        now += dt
        p.handle_packet(Packet(FlowKey(src, dst, port, port ^ 1, proto, tos, ifindex),
                               octets, flags), now)
        o.pop(now)
    p.flush(now + 1)
    o.pop(now + 1)
    assert sum(r.packets for r in o.records) == len(stream)
    assert sum(r.octets for r in o.records) == sum(s[6] for s in stream)
    for r in o.records:
        route = table.get(r.dst)
        assert r.output == (min(route.out_ifindex, U16) if route else 0)
        assert (r.next_hop, r.dst_mask) == ((route.next_hop, route.mask) if route else (0, 0))
        assert r.src_mask == (table[r.src].mask if r.src in table else 0)


def _frame(proto, sport, dport, flags, tos, size):
    l4 = {6: TCP(sport=sport, dport=dport, flags=flags), 17: UDP(sport=sport, dport=dport),
          1: ICMP(type=sport & 255, code=dport & 255)}[proto]
    eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")  # given: no ARP lookup
    pkt = eth / IP(src="10.1.2.3", dst="10.9.8.7", tos=tos) / l4
    return bytes(pkt / (b"\0" * size))


frames = st.lists(st.tuples(st.sampled_from([1, 6, 17]), st.integers(0, 3), st.integers(0, U16),
                            st.integers(0, 255), st.sampled_from([0, 0x10, 0xFC]),
                            st.integers(0, 200), st.integers(0, 1500)),
                  min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(frames)
def test_frames_as_scapy_builds_them(stream):
    p = Probe(Config(), start_ms=T0)
    o = Oracle(p, T0)
    want = {}
    now = T0
    for proto, sport, dport, flags, tos, size, dt in stream:
        now += dt
        data = _frame(proto, sport, dport, flags, tos, size)
        p.handle_frame(data, 1, 4, now)
        o.pop(now)
        ip = Ether(data)[IP]
        ports = (sport, dport) if proto != 1 else (0, (sport & 255) * 256 + (dport & 255))
        k = (*ports, proto, tos)
        pk, oc, fl = want.get(k, (0, 0, 0))
        want[k] = (pk + 1, oc + ip.len, fl | (flags if proto == 6 else 0))
    p.flush(now + 1)
    o.pop(now + 1)
    got = {}
    for r in o.records:
        assert (r.src, r.dst, r.input) == (_ip("10.1.2.3"), _ip("10.9.8.7"), 4)
        k = (r.sport, r.dport, r.proto, r.tos)
        pk, oc, fl = got.get(k, (0, 0, 0))
        got[k] = (pk + r.packets, oc + r.octets, fl | r.tcp_flags)
    assert got == want
