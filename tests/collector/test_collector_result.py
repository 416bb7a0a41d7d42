"""The JSONL round trip and the queries the testbed's checks use."""
from __future__ import annotations

import json

import pytest

from nfv5_build import UNIX_MS, datagram, record
from testbed.collector import CheckConfig, Collector, FiveTuple, load_jsonl
from testbed.collector import jsonl

DNS = dict(src="10.0.1.1", dst="10.0.2.1", sport=1234, dport=53, proto=17)
WEB = dict(src="10.0.1.1", dst="10.0.3.1", sport=40000, dport=80, proto=6, tcp_flags=0x1B, output=3)
STREAM = [
    datagram([record(**DNS, packets=2, octets=120), record(**WEB, packets=10, octets=5000)], seq=0),
    datagram([record(**DNS, packets=1, octets=60, pad1=1)], seq=5, uptime=101_000, unix_ms=UNIX_MS + 1000),
    datagram([record(**DNS, packets=1, octets=60, pad1=1)], seq=5, uptime=101_000, unix_ms=UNIX_MS + 1000),
    b"\x00\x09garbage",
]


def fed() -> Collector:
    c = Collector(CheckConfig(clock_slack_ms=None))
    for i, data in enumerate(STREAM):
        c.receive(data, ("10.0.9.1", 40000), UNIX_MS + i)
    return c


def write_run(path, c: Collector, stream=STREAM, summary=True) -> None:
    fresh = Collector(c.config)
    with open(path, "a") as f:
        f.write(jsonl.start_line("127.0.0.1:2055", UNIX_MS, c.config) + "\n")
        for i, data in enumerate(stream):
            for line in jsonl.received_lines(fresh.receive(data, ("10.0.9.1", 40000), UNIX_MS + i)):
                f.write(line + "\n")
        if summary:
            f.write(jsonl.summary_line(fresh.summary(), UNIX_MS + 9, socket_drops=0) + "\n")


def test_jsonl_round_trip_gives_back_every_value(tmp_path):
    c, path = fed(), tmp_path / "c.jsonl"
    write_run(path, c)
    got = load_jsonl(path)
    want = c.result()
    assert got.records == want.records and got.datagrams == want.datagrams
    assert got.malformed == want.malformed and got.summary == want.summary
    assert got.complete and got.live["socket_drops"] == 0 and got.live["start"]["listen"] == "127.0.0.1:2055"


def test_jsonl_lines_are_self_describing(tmp_path):
    path = tmp_path / "c.jsonl"
    write_run(path, fed())
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [x["type"] for x in lines] == ["start", "datagram", "record", "record", "datagram", "record",
                                         "datagram", "record", "malformed", "summary"]
    rec = lines[2]
    assert rec["exporter"] == "10.0.9.1" and rec["header"]["flow_sequence"] == 0
    assert rec["record"]["dst"] == "10.0.2.1" and rec["record"]["start_ms"] == UNIX_MS - 10_000
    assert lines[6]["sequence"]["status"] == "duplicate" and lines[7]["seq_status"] == "duplicate"
    assert lines[5]["findings"] == [{"code": "nonzero-padding", "detail": "pad1 0x01 pad2 0x0000"}]
    assert lines[8]["raw_hex"] == b"\x00\x09garbage".hex() and lines[8]["reason"] == "too-short"
    assert lines[9]["sequence"][0]["duplicates"] == 1 and lines[9]["malformed"] == {"too-short": 1}


def test_a_killed_collector_still_loads(tmp_path):
    path = tmp_path / "c.jsonl"
    write_run(path, fed(), summary=False)
    with open(path, "a") as f:
        f.write('{"type": "record", "recv')  # torn by SIGKILL
    got = load_jsonl(path)
    assert not got.complete and got.summary == fed().summary()


def test_only_the_last_run_of_an_appended_file_counts(tmp_path):
    path = tmp_path / "c.jsonl"
    write_run(path, fed())
    write_run(path, fed(), stream=STREAM[:1])
    assert len(load_jsonl(path).records) == 2


def test_find_total_one_and_totals():
    r = fed().result()
    assert len(r.find(dport=53)) == 2  # the duplicate datagram's record is left out...
    assert len(r.find(dport=53, include_duplicates=True)) == 3  # ...unless asked
    assert r.one(proto=6, output=3).tcp_flags == 0x1B
    assert len(r.find(src_mask=lambda m: m == 24, dst_mask=16)) == 3
    t = r.total(dst="10.0.2.1")
    assert (t.records, t.packets, t.octets) == (2, 3, 180)
    assert (t.start_ms, t.end_ms) == (UNIX_MS - 10_000, UNIX_MS - 1_000)
    assert r.totals()[FiveTuple("10.0.1.1", "10.0.3.1", 40000, 80, 6)].octets == 5000
    with pytest.raises(LookupError, match="2 records match"):
        r.one(dport=53)
    with pytest.raises(TypeError, match="no FlowRecord field"):
        r.find(port=53)


def test_findings_and_sequence_reports():
    r = fed().result()
    pads = r.findings("nonzero-padding")
    assert len(pads) == 2 and {f.flow_sequence for f in pads} == {5} and pads[0].record.dport == 53
    assert r.summary.findings == {"nonzero-padding": 2}
    seq = r.exporter_report("10.0.9.1")
    assert (seq.datagrams, seq.records, seq.records_lost, seq.gaps, seq.duplicates) == (3, 4, 3, 1, 1)
    assert r.exporter_report("10.0.9.1", engine_id=1) is None
    assert r.summary.malformed_total == 1 and r.summary.records_lost == 3
