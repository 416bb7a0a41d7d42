"""The HTML report's parts on a run made without root (synthetic.py: the late-and-lost
lab on a fake clock, through the real probe engine and the real collector)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from html import unescape
from pathlib import Path

from ipaddress import IPv4Address

import pytest

import synthetic
from browser import Elements
from synthetic import LATE, LOST, TCP_BACK, TCP_OUT
from probe.constants import Expiry
from probe.engine import Config, Probe
from probe.packet import FlowKey, Packet
from probe.records_file import RecordsFile
from testbed.collector import CheckConfig, Collector
from testbed.expect.verdict import not_applicable
from testbed.faults.impair import Impairer, Policy
from testbed.report import html, lanes, sequence_chart, topology_graph, workfiles
from testbed.run.runner import RunResult
from testbed.plan import resolve
from testbed.topology import load

ROOT = Path(__file__).resolve().parents[2]
EVERY_LAB = sorted((ROOT / "topologies").rglob("*.yaml"))
P = "late-and-lost-"


@pytest.fixture
def result(tmp_path):
    return synthetic.run(tmp_path)


def test_the_synthetic_run_fails_as_the_lab_does(result):
    status = {v.name: v.passed for v in result.verdicts}
    assert status == {"tcp-exported-at-fin": True, "udp-exported-too-early": False, "udp-flow-counts": True,
                      "no-lost-datagrams": False}


def test_the_probes_records_file_agrees_with_the_collector(result):
    """The probe writes what the wire carries plus the reason; start and end
    computed from its lines are the collector's, to the millisecond."""
    sent = {(r.flow_sequence, r.export_ms, r.index): r for r in result.workfiles.sent["p1"]}
    received = result.collectors["ref"].records
    assert len(sent) == 4 and len(received) == 3
    for rec in received:
        mine = sent[(rec.header.flow_sequence, rec.header.export_ms, rec.index)]
        assert mine.key == (rec.src, rec.dst, rec.sport, rec.dport, rec.proto, rec.tos)
        assert (mine.start_ms, mine.end_ms, mine.packets) == (rec.start_ms, rec.end_ms, rec.packets)
    assert [r.reason for r in sent.values()] == ["tcp_fin_rst", "tcp_fin_rst", "flush", "inactive"]


def test_lanes_hold_packets_records_windows_and_failures(result):
    tl = lanes.build(result)
    by_flow = {lane.flow: lane for lane in tl.lanes}
    assert list(by_flow) == [TCP_OUT, TCP_BACK, LOST, LATE]  # in time order
    assert [len(by_flow[f].sent) for f in by_flow] == [7, 7, 4, 20]
    late = by_flow[LATE]
    assert late.failed == ["udp-exported-too-early"]
    (bar,) = late.bars
    assert bar.reason == "inactive" and not bar.lost
    (window,) = late.windows
    assert window.failed and window.hi < bar.recv  # it came after the window closed
    assert window.lo == pytest.approx(max(late.sent) + 0.5)
    (lost,) = by_flow[LOST].bars
    assert lost.lost and lost.reason == "flush" and lost.packets == 4
    assert [b.reason for b in by_flow[TCP_BACK].bars] == ["tcp_fin_rst"]
    assert not by_flow[TCP_BACK].failed and not by_flow[TCP_BACK].windows[0].failed
    assert tl.by_check["udp-exported-too-early"] == [late.id]
    assert "tcp-session" in tl.steps


def test_too_many_flows_keep_the_failed_lane_then_the_checked_ones(result):
    tl = lanes.build(result, max_lanes=1)
    assert [lane.flow for lane in tl.lanes] == [LATE] and tl.hidden == 3
    tl = lanes.build(result, max_lanes=2)  # then the flow a check names (TCP_BACK: tcp-exported-at-fin)
    assert [lane.flow for lane in tl.lanes] == [TCP_BACK, LATE] and tl.hidden == 2


def test_the_sequence_chart_marks_the_gap_and_the_datagram_that_never_came(result):
    (s,) = sequence_chart.streams(result)
    assert (s.probe, s.exporter, s.engine_type, s.engine_id) == ("p1", "10.255.0.1", 0, 0)
    ((suffix, gap),) = s.events()
    assert suffix == "gap-0" and gap.missing == 1 and gap.seq == 3
    assert [(d.seq, d.arrived) for d in s.sent] == [(0, True), (2, False), (3, True)]
    svg = sequence_chart.draw(s, P)
    ids = Elements(svg).by_id
    assert f"{P}seq-0-gap-0" in ids and f"{P}seq-0-lost-0" in ids
    assert "gap: 1 record missing" in svg and "what the relay did" not in svg


def test_a_hand_written_relay_log_is_read_and_drawn(result, tmp_path):
    t = result.workfiles.sent["p1"][0].export_ms / 1000
    lines = [{"t": t, "probe": "p1", "seq": 0, "count": 2, "action": "pass"},
             {"t": t + 0.9, "probe": "p1", "seq": 2, "count": 1, "action": "drop"},
             {"t": t + 3.7, "probe": "p1", "seq": 3, "count": 1, "action": "delay"}]
    (tmp_path / "impair-p1.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines)
                                              + "not json\n" + '{"t": 1, "seq": 4, "action": "explode"}\n')
    files = workfiles.read({}, {("p1", "ref"): tmp_path / "impair-p1.jsonl"})
    assert [i.action for i in files.impairments["p1", "ref"]] == ["pass", "drop", "delay"]
    assert files.unreadable == {"impair-p1.jsonl": 2}  # skipped and counted, never raised
    (s,) = sequence_chart.streams(replace(result, workfiles=files))
    assert len(s.impairments) == 3
    svg = sequence_chart.draw(s, P)
    assert "what the relay did to each datagram (ground truth)" in svg and "received by the collector" in svg
    assert re.search(r">\s*drop\s*<", svg) and re.search(r">\s*delay\s*<", svg)  # the relay's legend


def test_the_export_taps_log_is_drawn_beside_the_collectors_view(tmp_path):
    """Datagrams of the real probe engine through the real Impairer (the tap's
    logic) into the real collector: the chart's relay panel is the tap's log."""
    probe = Probe(Config(), start_ms=synthetic.T0)
    tap = Impairer(Policy(drop=0.2, duplicate=0.2, reorder=0.2, seed=5))
    collector = Collector(CheckConfig(clock_slack_ms=None))
    mine = RecordsFile(str(tmp_path / "probe-p1.1.records.jsonl"))
    src, dst = int(IPv4Address(synthetic.H1)), int(IPv4Address(synthetic.H2))
    for i in range(16):
        now = synthetic.T0 + 100 * i
        probe.handle_packet(Packet(FlowKey(src, dst, 40000, 6000 + i, 17, 0, 2), 100, 0), now)
        probe.flush(now + 10, Expiry.FLUSH)
        for d in probe.datagrams_to_send():
            mine.write(d)
            tap.receive(d.data, (now + 10) / 1000)
        for data in tap.due((now + 50) / 1000):
            collector.receive(data, synthetic.EXPORTER, now + 50)
    for data in tap.flush():
        collector.receive(data, synthetic.EXPORTER, synthetic.T0 + 2000)
    mine.close()
    log = tap.take_log()
    (tmp_path / "impair-p1-ref.jsonl").write_text("".join(json.dumps(e) + "\n" for e in log))
    got = collector.result()
    run = RunResult("late-and-lost", collectors={"ref": got}, plan=resolve(load(synthetic.LAB)),
                    workfiles=workfiles.read({"p1": [tmp_path / "probe-p1.1.records.jsonl"]},
                                             {("p1", "ref"): tmp_path / "impair-p1-ref.jsonl"}))
    (s,) = sequence_chart.streams(run)
    assert [(i.seq, i.action) for i in s.impairments] == [(e["seq"], e["action"]) for e in log]
    fates = {e["action"] for e in log}
    assert {"drop", "duplicate", "reorder", "pass"} <= fates, fates  # the seed gives every fate
    statuses = {d.status for d in s.received}
    assert {"duplicate", "reordered"} <= statuses
    assert [d.arrived for d in s.sent].count(False) == [e["action"] for e in log].count("drop")
    svg = sequence_chart.draw(s, P)
    assert "what the relay did to each datagram (ground truth)" in svg
    assert all(re.search(rf">\s*{a}\s*<", svg) for a in fates)  # the relay's legend
    ids = Elements(svg).by_id
    assert f"{P}seq-0-duplicate-0" in ids and f"{P}seq-0-reordered-0" in ids


def test_the_section_links_each_check_to_its_picture(result):
    page = html.page([html.section(result)], "t")
    e = Elements(page)
    late = e.by_id[f"{P}check-udp-exported-too-early"]
    assert late[0] == "tr" and late[1]["class"] == "fail"
    assert e.by_id[f"{P}check-tcp-exported-at-fin"][1]["class"] == "pass"
    links = dict(re.findall(r'<tr id="([^"]+)".*?<a href="#([^"]+)"', page))
    lane = links[f"{P}check-udp-exported-too-early"]
    assert re.fullmatch(f"{P}lane-\\d", lane) and f"{lane}-failed" in e.by_id and lane in e.by_id
    assert links[f"{P}check-no-lost-datagrams"] == f"{P}seq-0-gap-0" and f"{P}seq-0-gap-0" in e.by_id
    assert f"{P}seq-0-gap-0-text" in e.by_id and "1 record missing before it" in e.text[f"{P}seq-0-gap-0-text"]
    for part in ("checks", "timeline", "sequence", "topology", "statistics", "topo", "topo-node-r1",
                 "probe-stats-p1", "collector-stats-ref"):
        assert P + part in e.by_id, part


def test_the_page_is_self_contained(result):
    page = html.page([html.section(result)], "t")
    assert "<script" not in page and "@import" not in page and "@font-face" not in page
    assert not re.search(r'(?:src|href)="(?!#)', page), "every link stays inside the page"
    assert not re.search(r"url\((?!#)", page)


def test_a_machine_without_graphviz_still_gets_the_interface_table(result, monkeypatch):
    monkeypatch.setattr(topology_graph.shutil, "which", lambda name: None)
    page = html.section(result)
    assert "Graphviz (dot) is not installed" in page and f'id="{P}topo"' not in page
    assert "<td>r1:eth2</td><td>10.255.0.1/30</td><td>4</td>" in page


@pytest.mark.parametrize("path", EVERY_LAB, ids=lambda p: str(p.relative_to(ROOT / "topologies")))
def test_every_labs_topology_is_drawn(path):
    topo = load(path)
    drawing = topology_graph.draw(resolve(topo), "x-")
    svg = drawing.svg
    assert svg is not None and svg.startswith("<svg") and drawing.summary == ()
    ids = Elements(svg).by_id
    assert "x-topo" in ids
    assert {f"x-topo-node-{n}" for n in topo.nodes} <= set(ids)
    assert {f"x-topo-link-{link.index}" for link in topo.links} <= set(ids)
    for ref in (i.ref for n in topo.nodes.values() for i in n.interfaces if i.link is not None):
        assert topo.interface(ref).name in svg


def test_a_page_of_several_labs_lists_each_with_its_status(result):
    entries = [("late-and-lost", 1, result, html.section(result)), ("broken", 2, None, "")]
    e = Elements(html.many_page(entries))
    assert "labs" in e.by_id and f"{P}lab" in e.by_id
    assert "2 labs: 0 passed" in html.many_page(entries)
    assert "It could not run or draw (exit status 2)" in html.many_page(entries)


def test_a_report_path_that_cannot_be_written_is_refused_before_anything_is_built(tmp_path):
    done = subprocess.run([sys.executable, "-m", "testbed", "run", str(ROOT / "topologies" / "quickstart.yaml"),
                           "--report", str(tmp_path / "missing" / "r.html")], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == (f"python -m testbed run: error: {tmp_path / 'missing' / 'r.html'}: "
                                   f"no such directory {tmp_path / 'missing'}")


def test_a_check_that_does_not_apply_reads_as_such(result):
    na = not_applicable("udp-flow-counts", "flow", "softflowd never fills masks")
    page = html.section(replace(result, verdicts=[na if v.name == na.name else v for v in result.verdicts]))
    e = Elements(page)
    assert e.by_id[f"{P}check-udp-flow-counts"][1]["class"] == "na"
    assert "does not apply: softflowd never fills masks" in e.text[f"{P}check-udp-flow-counts"]


def test_two_runs_of_one_lab_on_one_page_share_no_element_id(result):
    section = html.section(result)
    page = html.many_page([("late-and-lost", 1, result, section), ("late-and-lost", 1, result, section)])
    ids = [unescape(i) for i in re.findall(r'\sid="([^"]+)"', page)]
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    refs = {unescape(r) for r in re.findall(r'(?:url\(#|href="#)([^")]+)', page)}
    assert refs <= set(ids), refs - set(ids)
    assert {"late-and-lost-lab", "late-and-lost~2-lab", "late-and-lost~2-topo"} <= set(ids)
    assert 'href="#late-and-lost~2-lab"' in page


def test_the_figures_of_one_section_share_no_element_id(result):
    ids = re.findall(r'\sid="([^"]+)"', html.section(result))
    assert [i for i, n in Counter(ids).items() if n > 1] == []
