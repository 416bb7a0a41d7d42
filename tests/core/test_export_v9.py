"""NetFlow v9 export (--export v9) on the fake clock, both engines: the header,
the template and when it is sent again, the sequence, the data set.

The datagrams are read here with formats written apart from the probe's (RFC
3954 sections 5.1-5.3, and the field types of section 8)."""
import struct

import pytest
from helpers import ENGINES, make_probe, pkt, records, set_sequence

from probe.constants import Expiry

T0 = 1_700_000_000_123
HEADER = struct.Struct("!HHIIII")  # version, count, sys_uptime, unix_secs, sequence, source_id
SET = struct.Struct("!HH")  # set id, length
# the fields our v5 records carry, in netflow_v9.c's order: (field type, length)
TEMPLATE = [(8, 4), (12, 4), (15, 4), (10, 2), (14, 2), (2, 4), (1, 4), (22, 4), (21, 4),
            (7, 2), (11, 2), (6, 1), (4, 1), (5, 1), (16, 4), (17, 4), (9, 1), (13, 1), (32, 2)]
NAMES = ["src", "dst", "next_hop", "input", "output", "packets", "octets", "first", "last",
         "sport", "dport", "tcp_flags", "proto", "tos", "src_as", "dst_as", "src_mask",
         "dst_mask", "icmp_type"]
RECORD = struct.Struct("!" + "".join({1: "B", 2: "H", 4: "I"}[n] for _, n in TEMPLATE))


def parse(data: bytes) -> tuple[dict, list | None, list[dict]]:
    """(header, the template's (type, length)s or None, the data records)."""
    header = dict(zip(("version", "count", "sys_uptime", "unix_secs", "sequence", "source_id"),
                      HEADER.unpack_from(data)))
    off, template, recs = HEADER.size, None, []
    while off < len(data):
        set_id, length = SET.unpack_from(data, off)
        assert length % 4 == 0 and off + length <= len(data), "sets padded to 4 bytes"
        if set_id == 0:
            tid, n = struct.unpack_from("!HH", data, off + 4)
            assert (tid, length) == (256, 8 + 4 * n)
            template = [struct.unpack_from("!HH", data, off + 8 + 4 * i) for i in range(n)]
        else:
            assert set_id == 256
            n = (length - 4) // RECORD.size
            assert length - 4 - n * RECORD.size < 4, "padding only"
            recs += [dict(zip(NAMES, RECORD.unpack_from(data, off + 4 + k * RECORD.size)))
                     for k in range(n)]
        off += length
    assert off == len(data)
    assert header["count"] == len(recs) + (template is not None)
    return header, template, recs


def v9(engine, start=T0, **cfg):
    return make_probe(engine, start, export_version=9, **cfg)


def flows(p, n, now, proto=17):
    for port in range(n):
        p.handle_packet(pkt(sport=port, proto=proto), now)


def test_the_first_datagram_carries_the_template_then_the_records(engine):
    p = v9(engine, engine_type=3, engine_id=7)
    p.handle_packet(pkt(octets=1500, flags=0x12), T0 + 500)
    p.flush(T0 + 2_345)
    (d,) = p.datagrams_to_send()
    header, template, (r,) = parse(d.data)
    assert header == {"version": 9, "count": 2, "sys_uptime": 2_345, "unix_secs": 1_700_000_002,
                      "sequence": 0, "source_id": 3 << 8 | 7}
    assert template == TEMPLATE
    assert (r["packets"], r["octets"], r["first"], r["last"], r["tcp_flags"]) == (1, 1500, 500, 500,
                                                                                 0x12)
    assert (r["src_as"], r["dst_as"], r["icmp_type"]) == (0, 0, 0)
    assert len(d.data) == 20 + 84 + 4 + 51 + 1  # padded to 4


def test_sequence_counts_datagrams_and_each_holds_what_fits(engine):
    p = v9(engine)
    flows(p, 95, T0)
    p.flush(T0 + 10)
    sent = p.datagrams_to_send()
    assert [len(d.data) for d in sent] == [1436, 20 + 4 + 27 * 51 + 3, 1404, 20 + 4 + 15 * 51 + 3]
    ds = [parse(d.data) for d in sent]
    assert [h["sequence"] for h, _, _ in ds] == [0, 1, 2, 3]  # RFC 3954 5.1: export packets
    assert [len(recs) for _, _, recs in ds] == [26, 27, 27, 15]  # 1436 bytes at most
    assert [t is not None for _, t, _ in ds] == [True, False, False, False]
    assert [h["count"] for h, _, _ in ds] == [27, 27, 27, 15]
    assert sum(len(recs) for _, _, recs in ds) == 95


def test_icmp_type_and_code_in_the_dst_port_and_in_icmp_type(engine):
    p = v9(engine)
    p.handle_packet(pkt(proto=1, sport=0, dport=3 * 256 + 1), T0)
    p.handle_packet(pkt(proto=17, sport=53, dport=5353), T0)
    p.flush(T0 + 1)
    (d,) = p.datagrams_to_send()
    icmp, udp = parse(d.data)[2]
    assert (icmp["dport"], icmp["icmp_type"]) == (769, 769)
    assert (udp["dport"], udp["icmp_type"]) == (5353, 0)


def test_the_template_again_every_n_datagrams(engine):
    p = v9(engine, template_packets=3)
    flows(p, 8 * 27, T0)
    p.flush(T0 + 10)
    carried = [parse(d.data)[1] is not None for d in p.datagrams_to_send()]
    assert carried[:8] == [True, False, False, True, False, False, True, False]


def test_the_template_again_after_t_seconds_with_the_next_datagram(engine):
    p = v9(engine, template_ms=10_000, inactive_ms=1_000)
    sent = []
    for t in (0, 5_000, 9_999, 10_000, 12_000, 19_999, 20_500, 41_000):
        p.handle_packet(pkt(sport=t % 60_000, proto=17, flags=0), T0 + t)
        p.flush(T0 + t)  # one datagram opened at T0 + t
        (d,) = p.datagrams_to_send()
        sent.append(parse(d.data)[1] is not None)
    # 10 s after the last one that carried it, not 10 s after the start of every period
    assert sent == [True, False, False, True, False, False, True, True]


def test_the_sequence_wraps_and_the_template_count_with_it(engine):
    p = v9(engine, template_packets=3)
    set_sequence(p, 2**32 - 1)
    seqs, carried = [], []
    for i in range(5):
        p.handle_packet(pkt(sport=i, proto=17), T0 + i)
        p.flush(T0 + i)
        (d,) = p.datagrams_to_send()
        header, template, _ = parse(d.data)
        seqs.append(header["sequence"])
        carried.append(template is not None)
    assert seqs == [2**32 - 1, 0, 1, 2, 3]
    assert carried == [True, False, False, True, False]


def test_v9_records_are_the_v5_records(engine):
    stream = [(pkt(sport=s, dport=d, proto=proto, octets=40 + s, flags=f), T0 + 7 * s)
              for s in range(40) for d, proto, f in ((80, 6, 0x02), (53, 17, 0), (80, 6, 0x11))]
    got = {}
    for version in (5, 9):
        p = make_probe(engine, T0, export_version=version, max_flows=50, inactive_ms=100)
        for packet, now in stream:
            p.handle_packet(packet, now)
        p.flush(T0 + 10_000, Expiry.SHUTDOWN)
        got[version] = records(p)
    assert len(got[5]) > 60 and got[9] == got[5]  # the same records, reasons included


@pytest.mark.parametrize("option", [{"export_version": 7}, {"template_ms": 0},
                                    {"template_packets": 0}, {"template_packets": 2**32}])
def test_bad_export_settings_are_refused(option):
    with pytest.raises(ValueError):
        make_probe(ENGINES[0], **option)
