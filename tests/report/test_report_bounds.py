"""The HTML report stays small whatever the lab: a v5 flood (100,000 datagrams of one
flow, 100,000 packets sent) is drawn as density and a line, many exporters get a table
row past the first charts, a big lab's topology leaves out what would make Graphviz
take minutes - and each time the page says it summarised. (Figures: ci/bench-report.)"""
from __future__ import annotations

import re
import struct
from dataclasses import replace
from html import unescape

import synthetic
from synthetic import EXPORTER, LATE, T0
from testbed.collector import CheckConfig, Collector
from testbed.plan import resolve
from testbed.report import html, sequence_chart, topology_graph
from testbed.topology import loads
from testbed.topology.gen import line
from testbed.traffic.plan import FlowTruth

FLOOD = 100_000
MB = 1 << 20


def v5(seq: int, uptime: int, unix_ms: int) -> bytes:
    header = struct.pack("!HHIIIIBBH", 5, 1, uptime, unix_ms // 1000, unix_ms % 1000 * 1_000_000, seq, 0, 0, 0)
    record = struct.pack("!4s4s4sHHIIIIHHBBBBHHBBH", bytes([10, 0, 1, 10]), bytes([10, 0, 2, 10]), b"\0" * 4,
                         2, 3, 1, 228, uptime - 2, uptime - 1, LATE.sport, LATE.dport, 0, 0, 17, 0, 0, 0, 24, 24, 0)
    return header + record


def flood(tmp_path):
    c = Collector(CheckConfig(clock_slack_ms=None))
    for i in range(FLOOD):  # a gap every 10,000: marks too
        c.receive(v5(i + i // 10_000, 1000 + i, T0 + i), EXPORTER, T0 + i + 1)
    sent = FlowTruth(LATE, "h1", packets=FLOOD, octets=228 * FLOOD, step=6, first=T0 / 1000)
    sent.times.extend((T0 + i) / 1000 for i in range(FLOOD))
    return replace(synthetic.run(tmp_path), collectors={"ref": c.result()}, truth={LATE: sent})


def test_a_v5_flood_is_summarised_not_drawn_mark_by_mark(tmp_path):
    page = html.section(flood(tmp_path))
    assert len(page) < 2 * MB, len(page) / MB  # 71 MB before
    notes = [unescape(n) for n in re.findall(r'<p class="note">(Summarised: [^<]*)</p>', page)]
    assert any("100000 packets, 100001 records, drawn as how many per 1/200 of the axis" in n for n in notes), notes
    assert any("100000 datagrams received, drawn as a line through every 50th" in n for n in notes), notes
    assert "... and" not in page  # 9 gaps: each marked and listed


def test_many_exporters_past_the_first_charts_are_table_rows(tmp_path):
    base = synthetic.run(tmp_path)
    c = Collector(CheckConfig(clock_slack_ms=None))
    for n in range(40):
        for i in range(3):
            c.receive(v5(i, 1000 + i, T0 + i), (f"10.255.0.{n + 1}", 40000), T0 + i + 1)
    page = html.section(replace(base, collectors={"ref": c.result()}))
    charts = len(re.findall(r'<h3 id="late-and-lost-seq-\d+"', page))
    rows = len(re.findall(r'<tr id="late-and-lost-seq-\d+"', page))
    assert (charts, rows) == (sequence_chart.MAX_CHARTS, 40 - sequence_chart.MAX_CHARTS)
    assert f"Summarised: {40 - sequence_chart.MAX_CHARTS} of 40 exporters without a chart" in page


def test_a_200_router_line_is_drawn_without_what_would_take_dot_minutes():
    topo = loads(line(200, "all", 10), source="line200.yaml")
    drawing = topology_graph.draw(resolve(topo), "x-")
    assert drawing.svg is not None, drawing.why  # the 30 s timeout once fired at 40 routers
    assert drawing.summary == ("the 201 links of segment 10.255.0.0/16 (its box stands alone; the table has "
                               "every interface)", "200 export arrows (each probe's row names its collectors)")
    assert len(drawing.svg) < MB
