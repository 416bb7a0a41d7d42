"""v9/IPFIX through the JSON lines: every value comes back (octets as {"hex"}), the
new line types (template, options, undecoded) load, and a run split in two merges."""
from __future__ import annotations

import json

from nf9_build import VARIABLE, data, ipfix, ipfix_options_template, ipfix_templates, ipfix_withdraw, record, v9, \
    v9_templates

from testbed.collector import CheckConfig, Collector, jsonl, load_jsonl
from testbed.collector.result import merge_runs

T0 = 1_790_000_000
SRC = ("2001:db8::9", 4739)
FLOW = [(27, 16), (28, 16), (2, 8), (1, 8), (4, 1), (152, 8), (153, 8), (82, VARIABLE), (12, 4, 9)]
OPTS = ([(149, 4)], [(41, 8), (160, 8)])


def rec(i: int) -> bytes:
    return record(FLOW, {27: "2001:db8::1", 28: f"2001:db8::{i + 2:x}", 2: i + 1, 1: 80 * (i + 1), 4: 17,
                         152: T0 * 1000 - 500, 153: T0 * 1000 - 100, 82: b"eth\xff", (9, 12): b"\0\1\2\3"})


STREAM = [  # (datagram, receive ms)
    (ipfix([data(300, [rec(0)])], seq=0, export_s=T0), T0 * 1000 + 1),  # before its template: held
    (ipfix([ipfix_templates((300, FLOW)), ipfix_options_template(301, *OPTS),
            data(301, [record(OPTS[0] + OPTS[1], {149: 0, 41: 7, 160: T0 * 1000 - 9000})]),
            data(300, [rec(1), rec(2)])], seq=1, export_s=T0), T0 * 1000 + 2),
    (ipfix([data(999, [b"\0" * 12]), ipfix_withdraw(300), data(300, [rec(3)])], seq=4, export_s=T0 + 1),
     T0 * 1000 + 1500),
    (v9([v9_templates((256, [(8, 4), (2, 4), (1, 4)])), data(256, [record([(8, 4), (2, 4), (1, 4)],
                                                                           {8: "10.0.0.1", 2: 1, 1: 40})])],
        seq=7, unix_secs=T0, count=2), T0 * 1000 + 1600),
    (b"\0\x0a\0\x05garbage", T0 * 1000 + 1700),
]


def fed(stream=STREAM) -> Collector:
    c = Collector(CheckConfig(clock_slack_ms=None))
    for d, t in stream:
        c.receive(d, SRC, t)
    c.finish(T0 * 1000 + 9000)
    return c


def write(path, stream=STREAM, summary=True) -> Collector:
    c = Collector(CheckConfig(clock_slack_ms=None))
    with open(path, "a") as f:
        f.write(jsonl.start_line("[::]:4739", T0 * 1000, c.config) + "\n")
        for d, t in stream:
            f.write("".join(line + "\n" for line in jsonl.received_lines(c.receive(d, SRC, t))))
        if summary:
            f.write("".join(line + "\n" for line in jsonl.final_lines(c.finish(T0 * 1000 + 9000))))
            f.write(jsonl.summary_line(c.summary(), T0 * 1000 + 9000) + "\n")
    return c


def test_every_value_comes_back(tmp_path):
    path = tmp_path / "c.jsonl"
    write(path)
    got, want = load_jsonl(path), fed().result()
    assert len(got.records) == 4 and got.records[0].extra == {"interfaceName": "eth\\xff", "9.12": b"\0\1\2\3"}
    assert got.records == want.records and got.datagrams == want.datagrams and got.malformed == want.malformed
    assert got.options == want.options and got.templates == want.templates and got.undecoded == want.undecoded
    assert got.summary == want.summary
    assert [u.template_id for u in got.undecoded] == [999, 300]  # 300: sent after its withdrawal
    assert got.summary.templates == {"defined": 3, "withdrawn": 1, "held": 3, "released": 1}
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x["type"] for x in lines] == [
        "start", "datagram", "datagram", "template", "template", "options", "record", "record", "record",
        "datagram", "template", "datagram", "template", "record", "malformed", "undecoded", "undecoded", "summary"]
    assert lines[6]["version"] == 10 and lines[6]["datagram"] == 1 and lines[6]["record"]["extra"]["9.12"] == {
        "hex": "00010203"}
    assert lines[13]["version"] == 9 and lines[2]["contents"] == {"flows": 2, "options": 1, "templates": 2,
                                                                   "held": 0}


def test_a_killed_collector_rebuilds_the_same_sequence(tmp_path):
    path = tmp_path / "c.jsonl"
    write(path, summary=False)
    got = load_jsonl(path)
    assert not got.complete and got.summary.sequence == fed().summary().sequence


def test_two_runs_merge_into_one_stream_with_the_datagrams_numbered_on(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write(a, STREAM[:2])
    write(b, STREAM[2:])
    merged = merge_runs([load_jsonl(a), load_jsonl(b)])
    assert [d.number for d in merged.datagrams] == [1, 2, 3, 4] and merged.malformed[0].number == 5
    assert [r.datagram for r in merged.records] == [1, 2, 2, 4]  # the held one is its own datagram's
    assert [t.datagram for t in merged.templates] == [2, 2, 3, 4]
    ipfix_stream = next(s for s in merged.sequence if s.version == 10)
    assert (ipfix_stream.datagrams, ipfix_stream.records_lost) == (3, 0)


def test_only_keeps_one_exporters_stream_of_each_protocol():
    """The callers in testbed/run pass (addresses, engine_type, engine_id): v5 by engine;
    v9/IPFIX by source id / observation domain when asked, else all of those addresses'."""
    from nfv5_build import datagram

    c = Collector(CheckConfig(clock_slack_ms=None))
    tmpl = [(8, 4), (2, 4), (1, 4)]
    rec = record(tmpl, {8: "10.0.0.1", 2: 1, 1: 40})
    for source, d in ((("10.0.9.1", 5000), datagram(2, engine_id=1)), (("10.0.9.1", 5000), datagram(3, engine_id=2)),
                      (("10.0.9.1", 4739), ipfix([ipfix_templates((256, tmpl)), data(256, [rec] * 4)], domain=7)),
                      (("10.0.9.1", 4739), ipfix([ipfix_templates((256, tmpl)), data(256, [rec] * 5)], domain=8)),
                      (("10.0.9.2", 4739), ipfix([ipfix_templates((256, tmpl)), data(256, [rec] * 6)], domain=7))):
        c.receive(d, source, T0 * 1000)
    r = c.result()
    assert len(r.only({"10.0.9.1"}, 0, 1).records) == 2 + 4 + 5  # v5 engine 0/1, every IPFIX domain
    mine = r.only({"10.0.9.1"}, 0, 2, domain=7)
    assert len(mine.records) == 3 + 4 and len(mine.templates) == 1 and len(mine.sequence) == 2
    assert r.stream_report(mine.sequence[1].stream).records == 4
