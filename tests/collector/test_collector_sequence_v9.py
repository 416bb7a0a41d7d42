"""v9 and IPFIX sequence accounting, table-driven: v9 counts export packets per
source id (RFC 3954 5.1), IPFIX data records before the message per
observation domain (RFC 7011 3.1, erratum 4396; options template data records
count, template records do not). An exporter that counts something else is
named for it, and its stream is judged by what it counts, not as loss."""
from __future__ import annotations

import pytest
from nf9_build import data, ipfix, ipfix_options_template, ipfix_templates, record, v9, v9_templates

from testbed.collector import Collector

T = [(8, 4), (2, 4), (1, 4)]
O = ([(149, 4)], [(41, 8)])
REC = record(T, {8: "10.0.0.1", 2: 1, 1: 40})
OREC = record(O[0] + O[1], {149: 0, 41: 1})
SRC = ("10.0.9.1", 4739)


def msg(seq: int, flows: int, options: int = 0, templates: bool = False, t: int = 1000) -> bytes:
    sets = ([ipfix_templates((256, T)), ipfix_options_template(257, *O)] if templates else [])
    if options:
        sets.append(data(257, [OREC] * options))
    if flows:
        sets.append(data(256, [REC] * flows))
    return ipfix(sets, seq=seq, export_s=1_790_000_000 + t)


def pkt(seq: int, flows: int, templates: bool = False, uptime: int = 1000) -> bytes:
    sets = [v9_templates((256, T))] if templates else []
    if flows:
        sets.append(data(256, [REC] * flows))
    return v9(sets, seq=seq, uptime=uptime, count=flows + templates)


def run(stream):
    c = Collector()
    statuses, notes = [], []
    for d in stream:
        got = c.receive(d, SRC, 0)
        assert got.malformed is None, got.malformed
        d = got.datagram
        statuses.append((d.seq_status, d.missing or d.filled or d.reason or None))
        notes += [f.detail for f in got.datagram.findings if f.code == "sequence-counting"]
    (report,) = c.summary().sequence
    return statuses, report, notes


IN_ORDER = [("first", None)] + [("in-order", None)] * 3
CASES = {
    "IPFIX: data records before the message, options ones included": (
        [msg(0, 10, 1, True), msg(11, 5), msg(16, 0, 2), msg(18, 3)], IN_ORDER, dict(lost=0, records=21), ""),
    "IPFIX: a gap of 5 records": (
        [msg(0, 10, 0, True), msg(15, 5), msg(20, 1)], [("first", None), ("gap", 5), ("in-order", None)],
        dict(lost=5, gaps=1), ""),
    "IPFIX: a message late, filling its gap": (
        [msg(0, 10, 0, True), msg(15, 5, t=1002), msg(10, 5, t=1001), msg(20, 1, t=1003)],
        [("first", None), ("gap", 5), ("reordered", 5), ("in-order", None)], dict(lost=0, reordered=1), ""),
    "IPFIX: a duplicate": (
        [msg(0, 10, 0, True), msg(10, 5), msg(10, 5), msg(15, 1)],
        [("first", None), ("in-order", None), ("duplicate", None), ("in-order", None)], dict(duplicates=1), ""),
    "IPFIX: the exporter restarted (sequence back to 0)": (
        [msg(0, 10, 0, True), msg(10, 5), msg(0, 3, 0, True, t=1005), msg(3, 1, t=1006)],
        [("first", None), ("in-order", None), ("reset", "sequence restarted at 0"), ("in-order", None)],
        dict(resets=1, lost=0), ""),
    "IPFIX counting its own records too (softflowd)": (
        [msg(10, 10, 0, True), msg(15, 5), msg(22, 7), msg(23, 1)], IN_ORDER, dict(lost=0, first=0),
        "this message's own included"),
    "IPFIX counting its own, and a message lost": (
        [msg(10, 10, 0, True), msg(15, 5), msg(29, 7), msg(30, 1)],
        [("first", None), ("in-order", None), ("gap", 7), ("in-order", None)], dict(lost=7, gaps=1),
        "this message's own included"),
    "IPFIX counting template records": (
        [msg(0, 10, 0, True), msg(12, 5), msg(17, 3, 0, True), msg(22, 1)], IN_ORDER, dict(lost=0),
        "template records too"),
    "IPFIX counting messages": (
        [msg(0, 10, 0, True), msg(1, 5), msg(2, 3), msg(3, 1)], IN_ORDER, dict(lost=0, unit="datagrams"),
        "messages, not data records"),
    "IPFIX leaving options records out (what nfcapd expects)": (
        [msg(0, 10, 1, True), msg(10, 5, 1), msg(15, 3), msg(18, 1)], IN_ORDER, dict(lost=0),
        "only data records of data templates"),
    "v9: one per export packet": (
        [pkt(0, 10, True), pkt(1, 5), pkt(2, 0, True), pkt(3, 1)], IN_ORDER, dict(lost=0, records=16), ""),
    "v9: numbered from 1": (
        [pkt(1, 10, True), pkt(2, 5), pkt(3, 3), pkt(4, 1)], IN_ORDER, dict(lost=0, first=0), ""),
    "v9: two packets lost": (
        [pkt(0, 10, True), pkt(1, 5), pkt(4, 3), pkt(5, 1)],
        [("first", None), ("in-order", None), ("gap", 2), ("in-order", None)],
        dict(lost=2, gaps=1, unit="datagrams"), ""),
    "v9 counting flow records with its own (softflowd's newer code)": (
        [pkt(10, 10, True), pkt(15, 5), pkt(18, 3), pkt(19, 1)], IN_ORDER, dict(lost=0, unit="records"),
        "flow records sent, this packet's included"),
}


@pytest.mark.parametrize("name", CASES)
def test_sequence_per_protocol(name):
    stream, want_status, want, note = CASES[name]
    statuses, r, notes = run(stream)
    assert statuses == want_status
    got = dict(lost=r.records_lost, gaps=r.gaps, duplicates=r.duplicates, reordered=r.reordered, resets=r.resets,
               records=r.records, first=r.first_sequence, unit=r.unit)
    assert {k: got[k] for k in want} == want
    if note:
        assert len(notes) == 1 and note in notes[0] and note in r.counting
        assert "not as loss" in notes[0]
    else:
        assert notes == [] and r.counting == ""


def test_nfcapds_count_of_ipfix_failures_leaves_options_records_out():
    """nfcapd 1.7 expects the last number plus the data-template records it decoded."""
    _, r, _ = run([msg(0, 10, 1, True), msg(11, 5), msg(16, 2)])
    assert r.nfcapd_failures == 1 and r.records_lost == 0
    _, r, _ = run([pkt(0, 1, True), pkt(1, 1), pkt(3, 1)])
    assert r.nfcapd_failures == 1 and r.records_lost == 1


def test_a_message_with_held_sets_has_an_unknown_count_and_the_next_one_resynchronises():
    c = Collector()
    for d in (ipfix([data(256, [REC] * 4)], seq=0), msg(4, 2, 0, True), msg(6, 1)):
        c.receive(d, SRC, 0)
    (r,) = c.summary().sequence
    assert (r.records_lost, r.gaps, r.resets) == (0, 0, 0)
