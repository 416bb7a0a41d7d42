"""The frame decoder: link types, VLANs, fragments, truncation, malformed input.

Each case goes through a whole engine, both of them (helpers.decoded reads the
outcome back from the statistics and the exported record); the fuzz cases
also call the reference decoder itself, which tests/replay and the fuzzers use."""
import struct

import pytest
from helpers import ENGINES, decoded, ip
from hypothesis import given, settings, strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import CookedLinux, Dot1AD, Dot1Q, Ether
from scapy.packet import Raw

from probe.constants import DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW, Skip
from probe.decode import decode
from probe.packet import Packet

TCP_PKT = IP(src="10.0.1.1", dst="10.0.2.2", tos=0x28) / TCP(sport=1234, dport=80, flags="SA") / Raw(b"x" * 10)


def test_ethernet_tcp(engine):
    p = decoded(engine, bytes(Ether() / TCP_PKT), DLT_EN10MB, 7)
    k = p.key
    assert (k.src, k.dst, k.sport, k.dport, k.proto, k.tos, k.in_ifindex) == (
        ip("10.0.1.1"), ip("10.0.2.2"), 1234, 80, 6, 0x28, 7)
    assert p.octets == 50 and p.tcp_flags == 0x12 and not p.truncated


@pytest.mark.parametrize("frame,linktype", [
    (bytes(Ether() / Dot1Q(vlan=5) / TCP_PKT), DLT_EN10MB),
    (bytes(Ether() / Dot1AD(vlan=5) / Dot1Q(vlan=6) / TCP_PKT), DLT_EN10MB),
    (bytes(TCP_PKT), DLT_RAW),
    (bytes(CookedLinux(proto=0x0800) / TCP_PKT), DLT_LINUX_SLL),
])
def test_link_types_give_the_same_packet(engine, frame, linktype):
    assert decoded(engine, frame, linktype, 7) == decoded(engine, bytes(Ether() / TCP_PKT),
                                                          DLT_EN10MB, 7)


@pytest.mark.parametrize("linktype", [DLT_LINUX_SLL, DLT_LINUX_SLL2])
def test_what_the_capturing_host_sent_counts_only_when_asked(engine, linktype):
    """`tcpdump -i any` of a router: an outgoing copy is the second of a
    forwarded packet (skipped); of a host (`--direction both`): what it sent."""
    if linktype == DLT_LINUX_SLL:  # packet type 4: OUTGOING
        frame = struct.pack("!HHH8sH", 4, 1, 6, bytes(8), 0x0800) + bytes(TCP_PKT)
    else:
        frame = struct.pack("!HHIHBB8s", 0x0800, 0, 7, 1, 4, 6, bytes(8)) + bytes(TCP_PKT)
    assert decoded(engine, frame, linktype, 7) == Skip.OUTGOING
    assert decoded(engine, frame, linktype, 7, outgoing=True) == decoded(
        engine, bytes(Ether() / TCP_PKT), DLT_EN10MB, 7)


def test_three_vlan_tags_are_refused(engine):
    frame = bytes(Ether() / Dot1AD() / Dot1Q() / Dot1Q() / TCP_PKT)
    assert decoded(engine, frame, DLT_EN10MB, 1) is Skip.TOO_MANY_VLAN_TAGS


def test_udp_and_icmp_ports(engine):
    p = decoded(engine, bytes(IP() / UDP(sport=53, dport=5353)), DLT_RAW, 1)
    assert (p.key.sport, p.key.dport, p.tcp_flags) == (53, 5353, 0)
    icmp = bytes(IP() / ICMP(type=3, code=1))
    assert decoded(engine, icmp, DLT_RAW, 1).key.dport == 3 * 256 + 1
    assert decoded(engine, icmp, DLT_RAW, 1, icmp_ports=False).key.dport == 0


def test_options_are_skipped(engine):
    p = decoded(engine, bytes(IP(options=b"\x01" * 8) / UDP(sport=1, dport=2)), DLT_RAW, 1)
    assert (p.key.sport, p.key.dport) == (1, 2)


def test_non_first_fragment_has_no_ports(engine):
    frag = bytes(IP(frag=10, proto=17) / Raw(b"\x00\x35\x00\x35" * 4))
    p = decoded(engine, frag, DLT_RAW, 1)
    assert (p.key.sport, p.key.dport, p.key.proto) == (0, 0, 17) and not p.truncated


def test_truncated_first_fragment_is_accounted_with_ports_zero(engine):
    first = bytes(IP(flags="MF", proto=6) / Raw(b"\x04\xd2\x00\x50" + b"\x00" * 4))
    p = decoded(engine, first, DLT_RAW, 1)
    assert p.truncated and (p.key.sport, p.key.dport) == (0, 0) and p.octets == 28


def test_octets_are_ip_total_length_not_frame_length(engine):
    frame = bytes(Ether() / IP() / UDP()) + b"\x00" * 18  # ethernet padding
    assert decoded(engine, frame, DLT_EN10MB, 1).octets == 28


@pytest.mark.parametrize("mutate,reason", [
    (lambda b: b"\x75" + b[1:], Skip.BAD_IP_VERSION),
    (lambda b: b"\x44" + b[1:], Skip.BAD_IHL),
    (lambda b: b"\x4f" + b[1:], Skip.SHORT_IP_HEADER),
    (lambda b: b[:2] + struct.pack("!H", 10) + b[4:], Skip.BAD_TOTAL_LENGTH),
    (lambda b: b[:10], Skip.SHORT_IP_HEADER),
    (lambda b: b"", Skip.EMPTY_IP),
])
def test_malformed_reasons(engine, mutate, reason):
    assert decoded(engine, mutate(bytes(TCP_PKT)), DLT_RAW, 1) is reason


def test_non_ipv4_is_counted_not_decoded(engine):
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import ARP
    assert decoded(engine, bytes(Ether() / ARP()), DLT_EN10MB, 1) is Skip.NOT_IPV4
    assert decoded(engine, bytes(Ether() / IPv6()), DLT_EN10MB, 1) is Skip.NOT_IPV4


def test_every_truncation_of_a_frame_is_safe(engine):
    frame = bytes(Ether() / Dot1Q() / IP(options=b"\x01" * 4) / TCP(options=[("MSS", 1460)]))
    for n in range(len(frame) + 1):
        assert isinstance(decoded(engine, frame[:n], DLT_EN10MB, 1), (Skip, Packet))


LINKTYPES = st.sampled_from([DLT_EN10MB, DLT_RAW, DLT_LINUX_SLL, DLT_LINUX_SLL2, 999])


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=80), LINKTYPES)
def test_random_bytes_never_raise(data, linktype):
    assert isinstance(decode(data, linktype, 1), (Skip, Packet))
    for engine in ENGINES:
        assert isinstance(decoded(engine, data, linktype, 1), (Skip, Packet))


@settings(max_examples=2000, deadline=None)
@given(st.data())
def test_bit_flips_never_raise(data):
    frame = bytearray(bytes(Ether() / TCP_PKT))
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(frame) - 1))
        frame[i] ^= 1 << data.draw(st.integers(0, 7))
    assert isinstance(decode(bytes(frame), DLT_EN10MB, 1), (Skip, Packet))
    for engine in ENGINES:
        assert isinstance(decoded(engine, bytes(frame), DLT_EN10MB, 1), (Skip, Packet))
