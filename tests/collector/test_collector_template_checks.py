"""The template check kinds: data_decodable, template_refresh, template_redefinition.
Each problem names the datagram and what was expected."""
from __future__ import annotations

import pytest
from nf9_build import data, ipfix, ipfix_options_template, ipfix_templates, ipfix_withdraw, record, v9, \
    v9_templates

from testbed.collector import Collector
from testbed.expect.checks.data_decodable import DataDecodable
from testbed.expect.checks.template_redefinition import TemplateRedefinition
from testbed.expect.checks.template_refresh import TemplateRefresh
from testbed.topology import TopologyError, loads
from contexts import context

T = [(8, 4), (2, 4), (1, 4)]
T2 = [(2, 4), (1, 4), (8, 4)]
O = ([(149, 4)], [(41, 8)])
REC = record(T, {8: "10.0.0.1", 2: 1, 1: 40})
SRC = ("10.0.9.1", 4739)
T0 = 1_790_000_000_000


def result(stream, version=10):
    """`stream`: (seconds after T0, sets) per datagram."""
    c = Collector()
    seq = 0
    for t, sets in stream:
        if version == 10:
            d = ipfix(sets, seq=seq, export_s=(T0 // 1000) + int(t))
        else:
            d = v9(sets, seq=seq, unix_secs=(T0 // 1000) + int(t), uptime=100_000 + int(t * 1000))
        got = c.receive(d, SRC, T0 + int(t * 1000))
        assert got.malformed is None, got.malformed
        seq += len(got.records) + len(got.options) if version == 10 else 1
    c.finish(T0 + 100_000)
    return c.result()


def refreshed_every(n: int, count: int, version=10, gap_s=1.0):
    tmpl = ipfix_templates((256, T)) if version == 10 else v9_templates((256, T))
    return [(i * gap_s, ([tmpl] if i % n == 0 else []) + [data(256, [REC])]) for i in range(count)]


def test_data_decodable():
    check = DataDecodable(name="d", probe="p1")
    good = result([(0, [data(256, [REC])]), (1, [ipfix_templates((256, T))])])  # held, then decoded
    v = check.evaluate(good, context())
    assert v.passed and "1 records held until their template came" in v.observed
    bad = result([(0, [ipfix_templates((256, T)), data(256, [REC])]), (1, [data(300, [REC] * 2)])])
    v = check.evaluate(bad, context())
    assert not v.passed
    assert v.problems == ("10.0.9.1:4739 IPFIX domain 0: a data set of template 300 (24 octets) in datagram 2 "
                          "(2026-09-21 14:13:21.000) was never decoded: no template 300 had arrived when the "
                          "collector stopped; expected its template before it",)
    assert not check.evaluate(Collector().result(), context()).passed  # nothing v9/IPFIX at all


@pytest.mark.parametrize("version", [9, 10])
def test_template_refresh_by_packets(version):
    ok = result(refreshed_every(16, 40, version), version)  # in datagrams 1, 17, 33 (as softflowd)
    assert TemplateRefresh(name="r", probe="p1", every_packets=16).evaluate(ok, context()).passed
    v = TemplateRefresh(name="r", probe="p1", every_packets=15).evaluate(ok, context())
    assert not v.passed and len(v.problems) == 2
    src = "10.0.9.1:4739 " + ("v9 source id 0" if version == 9 else "IPFIX domain 0")
    assert v.problems[0] == (f"{src}: template 256, last sent in datagram 1 (2026-09-21 14:13:20.000), is not "
                             "in datagram 16, the 15th since: expected in one of every 15 datagrams")


def test_template_refresh_by_seconds():
    ok = result(refreshed_every(5, 30, gap_s=0.5))  # every 2.5 s
    assert TemplateRefresh(name="r", probe="p1", every_seconds=2).evaluate(ok, context()).passed
    v = TemplateRefresh(name="r", probe="p1", every_seconds=0.5).evaluate(ok, context())  # + 1 s of slack
    assert not v.passed and len(v.problems) == 6 and v.problems[0].endswith(
        "is not in datagram 5 (2026-09-21 14:13:22.000), 2.0 s later: expected again after 0.5 s")
    # a withdrawn template is not expected again
    gone = result([(0, [ipfix_templates((256, T)), data(256, [REC])]), (1, [ipfix_withdraw(256)])]
                  + [(t, [data(256, [REC])]) for t in range(2, 30)])
    assert TemplateRefresh(name="r", probe="p1", every_seconds=5).evaluate(gone, context()).passed


def test_template_redefinition():
    check = TemplateRedefinition(name="x", probe="p1")
    same = result([(0, [ipfix_templates((256, T))]), (1, [ipfix_templates((256, T))])])
    assert check.evaluate(same, context()).passed
    withdrawn = result([(0, [ipfix_templates((256, T))]), (1, [ipfix_withdraw(256)]),
                        (2, [ipfix_templates((256, T2))])])
    assert check.evaluate(withdrawn, context()).passed
    bad = result([(0, [ipfix_templates((256, T))]), (5, [ipfix_templates((256, T2))])])
    v = check.evaluate(bad, context())
    assert v.problems == ("10.0.9.1:4739 IPFIX domain 0: template 256 defined again in datagram 2 (2026-09-21 "
                          "14:13:25.000) as [2/4, 1/4, 8/4], 5.0 s after datagram 1 sent it as [8/4, 2/4, 1/4]: "
                          "expected a withdrawal first",)
    assert TemplateRedefinition(name="x", probe="p1", reuse_after_s=5).evaluate(bad, context()).passed
    assert not TemplateRedefinition(name="x", probe="p1", reuse_after_s=6).evaluate(bad, context()).passed
    opts = result([(0, [ipfix_options_template(258, *O)]), (1, [ipfix_withdraw(3, set_id=3)]),
                   (2, [ipfix_templates((258, T))])])
    assert check.evaluate(opts, context()).passed


def test_a_refresh_check_must_say_how_often():
    lab = """
name: x
nodes: {r1: {kind: router, interfaces: {eth0: 10.0.1.1/24}}, h1: {kind: host, interfaces: {eth0: 10.0.1.2/24}}}
links: [h1:eth0 -- r1:eth0]
probes: {p1: {node: r1, interfaces: [eth0], collectors: ["10.0.1.2:2055"]}}
expect:
  - {name: r, kind: template_refresh}
  - {name: s, kind: template_refresh, every_packets: 16, every_seconds: 60}
  - {name: t, kind: template_redefinition, reuse_after_s: 90}
  - {name: u, kind: data_decodable}
"""
    with pytest.raises(TopologyError, match="every_packets: N and/or every_seconds: S"):
        loads(lab)
    topo = loads(lab.replace("  - {name: r, kind: template_refresh}\n", ""))
    assert [c.kind for c in topo.expect] == ["template_refresh", "template_redefinition", "data_decodable"]
    assert (topo.expect[0].every_packets, topo.expect[0].every_seconds, topo.expect[1].reuse_after_s) == (16, 60, 90)
