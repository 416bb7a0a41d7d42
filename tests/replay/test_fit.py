"""Fitting a capture to the lab (testbed/traffic/fit.py): addresses mapped by
longest prefix, checksums right afterwards (scapy recomputes them to compare),
a way in for each packet by its source, and every frame that cannot go in
counted by reason."""
from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network as N

from scapy.layers.inet import ICMP, IP, TCP, UDP, fragment
from scapy.layers.l2 import ARP, Ether

from testbed.traffic.fit import ANYWHERE, NO_WAY, AddressMap, Way, Ways, fit
from testbed.pcap import Captured

AMAP = AddressMap(((N("192.168.7.0/24"), N("10.0.1.0/24")), (N("192.168.7.128/25"), N("10.9.9.9/32")),
                   (N("198.51.100.0/24"), N("10.0.0.0/16"))))
W0 = Way("r1:eth0", "h1:eth0", b"\x02\0\0\0\0\x01", b"\x02\0\0\0\0\x02", 1500)
W1 = Way("r1:eth1", "h2:eth0", b"\x02\0\0\0\0\x03", b"\x02\0\0\0\0\x04", 1500)
BOTH = Ways((W0, W1), ((N("10.0.1.0/24"), 0), (N("10.9.9.9/32"), 0), (N("10.0.0.0/16"), 1)))


def cap(pkt, ts=0, linktype=1) -> Captured:
    data = bytes(pkt)
    return Captured(ts, linktype, data, len(data), None)


def a(text: str) -> int:
    return int(IPv4Address(text))


def test_address_map_longest_prefix_and_host_bits():
    assert AMAP(a("192.168.7.5")) == a("10.0.1.5")
    assert AMAP(a("192.168.7.200")) == a("10.9.9.9")  # the /25 rule: one address
    assert AMAP(a("198.51.100.7")) == a("10.0.0.7")  # into a larger prefix: host bits kept
    assert AMAP(a("8.8.8.8")) == a("8.8.8.8")  # no rule: unchanged


def checksums_right(frame: bytes) -> None:
    ip = Ether(frame)[IP]
    again = IP(bytes(ip))
    del again.chksum
    l4 = again.payload
    if isinstance(l4, (TCP, UDP)):
        del l4.chksum
    again = IP(bytes(again))
    assert again.chksum == ip.chksum
    if isinstance(ip.payload, (TCP, UDP)):
        assert again.payload.chksum == ip.payload.chksum


def test_readdressed_packets_have_right_checksums_and_lab_macs():
    pkts = [IP(src="192.168.7.10", dst="198.51.100.20") / TCP(sport=1, dport=80, flags="PA") / (b"d" * 101),
            IP(src="198.51.100.20", dst="192.168.7.10") / UDP(sport=53, dport=5353) / (b"a" * 33),
            IP(src="192.168.7.10", dst="198.51.100.20") / ICMP() / (b"p" * 8)]
    got = fit([cap(Ether() / p, i) for i, p in enumerate(pkts)], AMAP, BOTH)
    assert got.mapped == 3 and got.checksums == 2 and not got.skipped
    assert [p.way for p in got.packets] == [0, 1, 0]
    for p in got.packets:
        checksums_right(p.frame)
        assert p.frame[:14] == (W0 if p.way == 0 else W1).header
    assert got.packets[0].key.flow.key[:4] == ("10.0.1.10", "10.0.0.20", 1, 80)
    assert got.packets[1].key.flow.key[:2] == ("10.0.0.20", "10.0.1.10")


def test_offloaded_checksums_are_made_right():
    p = Ether() / IP(src="192.168.7.10", dst="198.51.100.20") / TCP(sport=1, dport=80, chksum=0xBEEF)
    (out,) = fit([cap(p)], AMAP, BOTH).packets
    checksums_right(out.frame)


def test_udp_without_checksum_stays_without():
    p = Ether() / IP(src="192.168.7.10", dst="198.51.100.20") / UDP(sport=1, dport=2, chksum=0) / b"x"
    (out,) = fit([cap(p)], AMAP, BOTH).packets
    assert Ether(out.frame)[UDP].chksum == 0


def test_fragments_keep_a_consistent_checksum():
    whole = IP(src="192.168.7.10", dst="198.51.100.20", id=7) / UDP(sport=1, dport=2) / (b"z" * 100)
    frags = fragment(IP(bytes(whole)), fragsize=48)
    got = fit([cap(Ether() / f) for f in frags], AMAP, BOTH)
    assert got.checksums == 0 and len(got.packets) == len(frags)
    first = Ether(got.packets[0].frame)[IP]
    again = IP(src=first.src, dst=first.dst, id=7) / UDP(sport=1, dport=2) / (b"z" * 100)
    assert first[UDP].chksum == IP(bytes(again))[UDP].chksum  # adjusted, as if whole
    assert [p.key.flow.key[2:4] for p in got.packets] == [(1, 2)] + [(0, 0)] * (len(frags) - 1)


def test_link_padding_is_not_sent():
    p = Ether() / IP(src="8.8.8.8", dst="10.0.1.1") / UDP(sport=1, dport=2)
    padded = bytes(p) + b"\0" * 10
    (out,) = fit([Captured(0, 1, padded, len(padded), None)], AMAP, Ways((W0,), ((ANYWHERE, 0),))).packets
    assert len(out.frame) == 14 + 28 and out.key.octets == 28


def test_what_cannot_go_in_is_counted_by_reason():
    frames = [cap(Ether() / ARP()), cap(Ether() / ARP()), cap(bytes(Ether(type=0x86DD)) + b"\x60" + b"\0" * 39),
              cap(Ether() / IP(src="172.16.0.1", dst="192.168.7.1") / UDP()),  # no way in for 172.16/12
              cap(Ether() / IP(src="192.168.7.1", dst="198.51.100.1") / UDP() / (b"x" * 1480)),  # 1508 > 1500
              cap(Ether() / IP(src="192.168.7.1", dst="198.51.100.1") / UDP()),
              cap(b"\x45" + b"\0" * 30, linktype=101), cap(b"\0" * 30, linktype=147)]
    got = fit(frames, AMAP, BOTH)
    assert len(got.packets) == 1
    assert dict(got.skipped) == {"ARP": 2, "IPv6": 1, NO_WAY: 1, "larger than the MTU of r1:eth0 (1500)": 1,
                                 "malformed IPv4": 1, "link type 147": 1}
    assert got.unplaced == {"172.16.0.1": 1}
    assert "1 with a source no into: entry covers (172.16.0.1)" in got.skipped_text()
    assert got.skipped_text().startswith("2 ARP")
