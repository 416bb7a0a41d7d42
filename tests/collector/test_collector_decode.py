"""The decoder against scapy's v5 layers and the format facts in FIELD-BUGS.md."""
from __future__ import annotations

import pytest
from scapy.layers.netflow import NetflowHeader, NetflowHeaderV5, NetflowRecordV5

from nfv5_build import UNIX_MS, datagram, record
from testbed.collector import Collector
from testbed.collector.times import flow_times

SCAPY_RECORDS = [
    dict(src="192.0.2.1", dst="198.51.100.7", nexthop="203.0.113.254", input=3, output=65535, dpkts=7,
         dOctets=4242, first=1_000, last=4_999, srcport=40000, dstport=443, tcpFlags=0x1B, prot=6, tos=0xB8,
         src_as=64512, dst_as=65535, src_mask=24, dst_mask=32),
    dict(src="10.0.0.1", dst="10.255.255.255", nexthop="0.0.0.0", input=0, output=0, dpkts=0xFFFFFFFF,
         dOctets=0xFFFFFFFF, first=4_999, last=4_999, srcport=0, dstport=0x0800, tcpFlags=0, prot=1, tos=0,
         src_as=0, dst_as=0, src_mask=0, dst_mask=0),
]


def scapy_datagram(**header) -> bytes:
    records = [NetflowRecordV5(**r) for r in SCAPY_RECORDS]
    pkt = NetflowHeader(version=5) / NetflowHeaderV5(**header)
    for r in records:
        pkt = pkt / r
    return bytes(pkt)


def test_scapy_datagram_decodes_to_the_same_values():
    data = scapy_datagram(sysUptime=5_000, unixSecs=1_790_000_000, unixNanoSeconds=250_000_000,
                          flowSequence=0xFFFFFFFE, engineType=1, engineID=7, samplingInterval=0x4000 | 100)
    got = Collector().receive(data, ("192.0.2.254", 9995), 1_790_000_000_300)
    assert got.malformed is None
    h = got.datagram.header
    assert (h.version, h.count, h.sys_uptime, h.unix_secs, h.unix_nsecs, h.flow_sequence) == (
        5, 2, 5_000, 1_790_000_000, 250_000_000, 0xFFFFFFFE)
    assert (h.engine_type, h.engine_id, h.sampling_mode, h.sampling_interval) == (1, 7, 1, 100)
    assert h.export_ms == 1_790_000_000_250
    for want, r in zip(SCAPY_RECORDS, got.records):
        assert (r.src, r.dst, r.next_hop, r.input, r.output, r.packets, r.octets, r.first, r.last) == (
            want["src"], want["dst"], want["nexthop"], want["input"], want["output"], want["dpkts"],
            want["dOctets"], want["first"], want["last"])
        assert (r.sport, r.dport, r.tcp_flags, r.proto, r.tos, r.src_as, r.dst_as, r.src_mask, r.dst_mask) == (
            want["srcport"], want["dstport"], want["tcpFlags"], want["prot"], want["tos"], want["src_as"],
            want["dst_as"], want["src_mask"], want["dst_mask"])
        assert (r.exporter, r.recv_ms, r.header) == ("192.0.2.254", 1_790_000_000_300, h)
    first = got.records[0]
    assert first.start_ms == 1_790_000_000_250 - 4_000 and first.end_ms == 1_790_000_000_250 - 1
    assert first.duration_ms == 3_999


@pytest.mark.parametrize("uptime, first, last, start_age, end_age", [
    (100_000, 90_000, 99_000, 10_000, 1_000),  # the plain nfdump formula
    (500, 2**32 - 1_500, 200, 2_000, 300),  # uptime wrapped during the flow
    (500, 2**32 - 1_500, 2**32 - 100, 2_000, 600),  # ... or after it ended (nfdump needs a fudge here)
    (1_000, 1_000, 1_000, 0, 0),
    (1_000, 1_000, 1_200, 0, -200),  # last ahead of uptime: ends after export (a finding)
])
def test_absolute_times_are_export_time_minus_age_wrap_aware(uptime, first, last, start_age, end_age):
    assert flow_times(UNIX_MS, uptime, first, last) == (UNIX_MS - start_age, UNIX_MS - end_age)


@pytest.mark.parametrize("data, reason", [
    (b"", "too-short"),
    (datagram(1)[:23], "too-short"),
    (datagram(1, version=7), "bad-version"),
    (datagram(1, version=9), "bad-set-length"),  # a v5 body is no v9 flowset
    (datagram([], count=0), "bad-count"),
    (datagram(31), "bad-count"),
    (datagram(2)[:-1], "length-mismatch"),
    (datagram(2) + b"\0", "length-mismatch"),
    (datagram(2, count=1), "length-mismatch"),  # nfcapd would take the rest for another header
])
def test_invalid_datagrams_are_counted_by_reason_and_kept(data, reason):
    c = Collector()
    got = c.receive(data, ("10.0.9.1", 5000), 1234)
    assert got.datagram is None and got.records == ()
    m = got.malformed
    assert (m.reason, m.raw, m.exporter, m.port, m.recv_ms) == (reason, data, "10.0.9.1", 5000, 1234)
    assert c.summary().malformed == {reason: 1} and c.summary().datagrams == 0
    assert c.result().malformed == [m]


def test_thirty_records_is_the_maximum_that_decodes():
    got = Collector().receive(datagram(30), "10.0.9.1", 0)
    assert len(got.records) == 30 and [r.index for r in got.records] == list(range(30))


def test_source_may_be_a_socket_address_or_a_string():
    c = Collector()
    assert c.receive(datagram(1), ("10.0.9.1", 2055), 0).datagram.port == 2055
    assert c.receive(datagram(1, seq=1), "10.0.9.1:2056", 0).datagram.exporter == "10.0.9.1"
    assert c.receive(datagram(1, seq=2), "10.0.9.1", 0).datagram.port == 0


def test_record_builder_matches_scapy_byte_for_byte():
    r = SCAPY_RECORDS[0]
    ours = record(src=r["src"], dst=r["dst"], next_hop=r["nexthop"], input=r["input"], output=r["output"],
                  packets=r["dpkts"], octets=r["dOctets"], first=r["first"], last=r["last"], sport=r["srcport"],
                  dport=r["dstport"], tcp_flags=r["tcpFlags"], proto=r["prot"], tos=r["tos"],
                  src_as=r["src_as"], dst_as=r["dst_as"], src_mask=r["src_mask"], dst_mask=r["dst_mask"])
    assert ours == bytes(NetflowRecordV5(**r))
