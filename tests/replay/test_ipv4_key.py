"""The testbed's flow key of a packet (testbed/traffic/ipv4.py), written apart
from the probe's decoder: the ng_netflow rules one by one, every link type a
field capture comes in, and agreement with the probe on random packets."""
from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.layers.inet6 import IPv6

from probe.constants import Skip
from probe.decode import decode
from testbed.traffic.ipv4 import FlowId, Key, ip_start, key_of

TCP_SYN = bytes(IP(src="10.0.0.1", dst="10.0.0.2", tos=0x20) / TCP(sport=1234, dport=80, flags="S"))


def test_tcp_udp_icmp():
    assert key_of(TCP_SYN) == Key(FlowId("10.0.0.1", "10.0.0.2", 1234, 80, 6, 0x20), 40, 0x02)
    udp = bytes(IP(src="1.2.3.4", dst="5.6.7.8") / UDP(sport=53, dport=5353) / (b"x" * 10))
    assert key_of(udp) == Key(FlowId("1.2.3.4", "5.6.7.8", 53, 5353, 17, 0), 38, 0)
    icmp = bytes(IP(src="1.2.3.4", dst="5.6.7.8") / ICMP(type=3, code=1))
    assert (key_of(icmp).flow.sport, key_of(icmp).flow.dport) == (0, 3 * 256 + 1)


def ports(ip: bytes) -> tuple[int, int]:
    flow = key_of(ip).flow
    return flow.sport, flow.dport


def test_fragments_and_short_captures_have_ports_0():
    later = bytes(IP(src="1.1.1.1", dst="2.2.2.2", frag=100, proto=17) / (b"x" * 40))
    assert ports(later) == (0, 0) and key_of(later).octets == 60
    short_first = bytes(IP(src="1.1.1.1", dst="2.2.2.2", flags="MF", proto=6) / (b"x" * 8))
    assert ports(short_first) == (0, 0)  # 8 bytes: not a whole TCP header
    cut = TCP_SYN[:30]  # the capture kept 10 bytes of TCP; the header says 40
    assert ports(cut) == (0, 0) and key_of(cut).octets == 40


def test_malformed():
    assert key_of(b"\x45" + b"\0" * 10) == "malformed IPv4 (short header)"
    bad_total = bytearray(TCP_SYN)
    bad_total[2:4] = struct.pack("!H", 12)
    assert key_of(bytes(bad_total)) == "malformed IPv4"
    assert key_of(b"\x65" + TCP_SYN[1:]) == "malformed IPv4"


def test_link_types():
    eth = bytes(Ether() / IP())
    assert ip_start(1, eth) == 14
    assert ip_start(1, bytes(Ether() / Dot1Q(vlan=5) / Dot1Q(vlan=6) / IP())) == 22
    assert ip_start(1, bytes(Ether() / Dot1Q() / Dot1Q() / Dot1Q() / IP())) == "more than two VLAN tags"
    assert ip_start(1, bytes(Ether() / ARP())) == "ARP"
    assert ip_start(1, bytes(Ether() / IPv6())) == "IPv6"
    assert ip_start(1, b"\0" * 12 + b"\x88\xcc" + b"\0" * 20) == "LLDP"
    assert ip_start(1, b"\0" * 10) == "short link header"
    assert ip_start(101, TCP_SYN) == 0 and ip_start(228, TCP_SYN) == 0
    assert ip_start(101, bytes(IPv6())) == "IPv6"
    sll = b"\0\0\0\1\0\6" + b"\0" * 8 + b"\x08\x00"
    assert ip_start(113, sll + TCP_SYN) == 16
    assert ip_start(113, sll[:14] + b"\x81\x00\0\5\x08\x00" + TCP_SYN) == 20  # a tag put back
    assert ip_start(276, b"\x08\x00" + b"\0" * 18 + TCP_SYN) == 20
    assert ip_start(0, b"\2\0\0\0" + TCP_SYN) == 4 and ip_start(108, b"\0\0\0\2" + TCP_SYN) == 4
    assert ip_start(0, b"\x1e\0\0\0" + bytes(IPv6())) == "IPv6"
    assert ip_start(147, TCP_SYN) == "link type 147"


PACKETS = st.builds(
    lambda proto, frag, mf, payload, cut, tos: (bytes(IP(src="10.1.2.3", dst="10.4.5.6", proto=proto, tos=tos,
                                                         frag=frag, flags="MF" if mf else 0) / payload), cut),
    st.sampled_from([1, 6, 17, 47]), st.sampled_from([0, 0, 0, 3]), st.booleans(),
    st.binary(min_size=0, max_size=40), st.integers(0, 70), st.integers(0, 255))


@settings(max_examples=400, deadline=None)
@given(PACKETS)
def test_agrees_with_the_probe_on_random_packets(case):
    data, cut = case
    data = data[:max(cut, 1)] if cut < len(data) else data  # a capture may keep less
    mine, probe = key_of(data), decode(data, 101, 0)
    if isinstance(probe, Skip):
        assert isinstance(mine, str), (mine, probe)
        return
    k = probe.key
    assert not isinstance(mine, str), (mine, probe)
    dotted = lambda a: ".".join(str(a >> s & 255) for s in (24, 16, 8, 0))  # noqa: E731
    assert mine == Key(FlowId(dotted(k.src), dotted(k.dst), k.sport, k.dport, k.proto, k.tos), probe.octets,
                       probe.tcp_flags)
