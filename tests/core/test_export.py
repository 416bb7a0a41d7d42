"""Datagram building: 30-record limit, sequence, uptime, partial flush per scan (both engines)."""
import struct

from helpers import header, make_probe, pkt, records, set_sequence

from probe.constants import Expiry

RECORD = struct.Struct("!IIIHHIIIIHHBBBBHHBBH")  # the v5 record, written apart from the probe's

T0 = 1_700_000_000_123


def test_thirty_record_boundary_and_sequence(engine):
    p = make_probe(engine, T0)
    for port in range(95):
        p.handle_packet(pkt(sport=port, proto=17), T0)
    p.flush(T0 + 10)
    ds = p.datagrams_to_send()
    assert [len(d.records) for d in ds] == [30, 30, 30, 5]
    assert [header(d.data)["flow_sequence"] for d in ds] == [0, 30, 60, 90]
    assert all(len(d.data) == 24 + 48 * len(d.records) for d in ds)
    p.handle_packet(pkt(sport=1), T0 + 20)
    p.flush(T0 + 30)
    (d,) = p.datagrams_to_send()
    assert header(d.data)["flow_sequence"] == 95


def test_header_fields(engine):
    p = make_probe(engine, T0, engine_type=3, engine_id=7)
    p.handle_packet(pkt(), T0 + 500)
    p.flush(T0 + 2_345)
    (d,) = p.datagrams_to_send()
    h = header(d.data)
    assert h["version"] == 5 and h["count"] == 1
    assert h["sys_uptime"] == 2_345
    assert (h["unix_secs"], h["unix_nsecs"]) == (1_700_000_002, 468_000_000)
    assert (h["engine_type"], h["engine_id"], h["sampling"]) == (3, 7, 0)
    fields = RECORD.unpack_from(d.data, 24)
    assert fields[7:9] == (500, 500)  # first, last in ms of uptime


def test_partial_datagram_each_scan(engine):
    p = make_probe(engine, T0, inactive_ms=1000)
    p.handle_packet(pkt(sport=1), T0)
    p.handle_timer(T0 + 2000)
    assert len(p.datagrams_to_send()) == 1  # expired at the 2000 scan, sent with it
    p.handle_packet(pkt(sport=2, flags=0x01), T0 + 2100)
    assert p.datagrams_to_send() == []
    p.handle_timer(T0 + 3000)
    (d,) = p.datagrams_to_send()
    assert header(d.data)["sys_uptime"] == 3000  # stamped at the scan, < 1 scan late


def test_uptime_wraps_at_2_32(engine):
    start = T0 - (2**32 - 15)  # uptime passes 2^32 ms at T0 + 15
    p = make_probe(engine, start)
    p.handle_packet(pkt(), T0 - 10)
    p.handle_packet(pkt(), T0 + 20)
    p.flush(T0 + 30)
    (d,) = p.datagrams_to_send()
    (r,) = d.records
    assert (r.first, r.last) == (2**32 - 25, 5)
    assert header(d.data)["sys_uptime"] == 15


def test_sequence_wraps_mod_2_32(engine):
    p = make_probe(engine, T0)
    set_sequence(p, 2**32 - 10)
    for port in range(30):
        p.handle_packet(pkt(sport=port, proto=17), T0)
    p.flush(T0 + 1)
    ds = p.datagrams_to_send()
    p.handle_packet(pkt(), T0 + 2)
    p.flush(T0 + 3)
    ds += p.datagrams_to_send()
    assert [header(d.data)["flow_sequence"] for d in ds] == [2**32 - 10, 20]


def test_popping_datagrams_is_not_sending_them(engine):
    p = make_probe(engine, T0)
    for port in range(31):
        p.handle_packet(pkt(sport=port, proto=17), T0)
    p.flush(T0 + 1)
    assert len(records(p)) == 31 and p.stats.exported == {Expiry.FLUSH: 31}
    assert (p.stats.datagrams_sent, p.stats.records_sent) == (0, 0)  # the sender counts what left


def test_ifindex_above_16_bits_is_clamped_and_counted_never_truncated(engine):
    p = make_probe(engine, T0)
    p.handle_packet(pkt(ifindex=70000), T0)
    p.flush(T0 + 1)
    (r,) = records(p)
    assert r.input == 65535 and p.stats.ifindex_clamped == 1  # not 70000 & 0xFFFF = 4464

