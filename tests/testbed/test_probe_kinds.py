"""Probe kinds in lab files (no root): validate errors with their lines, --exporter,
claims -> n/a verdicts, require:, and the reports of n/a (table, JUnit, matrix)."""
from __future__ import annotations

import signal
import xml.etree.ElementTree as ET

import pytest

from testbed.collector import Collector
from testbed.expect.check import judge
from testbed.expect.context import Context
from testbed.expect.verdict import Verdict
from testbed.exporters import kind
from testbed.report import junit, table
from testbed.report.matrix import Matrix, render, to_json
from testbed.run.runner import RunResult
from testbed.plan import resolve
from testbed.topology import TopologyError, loads

LAB = """\
name: kinds
nodes:
  h1: {kind: host, interfaces: {eth0: 10.0.1.10/24}, routes: [default via r1]}
  h2: {kind: host, interfaces: {eth0: 10.0.2.10/24}, routes: [default via r1]}
  c1: {kind: host, interfaces: {eth0: 10.255.0.2/30}, routes: [default via r1]}
  r1: {kind: router, interfaces: {eth0: 10.0.1.1/24, eth1: 10.0.2.1/24, eth2: 10.255.0.1/30}}
links: [h1:eth0 -- r1:eth0, r1:eth1 -- h2:eth0, r1:eth2 -- c1:eth0]
collectors:
  ref: {node: c1}
  n1: {kind: nfcapd, node: c1, port: 9995}
probes:
  p1:
PROBE
traffic:
STEPS
expect:
  - {name: masks, kind: flow, match: {dport: 5000}, dst_mask: 24}
  - {name: fin, kind: exported_within, match: {dport: 80}, by: fin_rst}
  - {name: tos, kind: flow, match: {dport: 5000}, records: 1, needs: [tos_in_key]}
  - {name: counted, kind: conservation}
"""
PROBE = "    {node: r1, interfaces: [eth0, eth1], collectors: [ref], inactive_timeout: 2}"
STEP = "  - {kind: udp, from: h1, to: h2, dport: 5000, packets: 3}"


def lab(probe: str = PROBE, steps: str = STEP, exporter: str | None = None):
    """The lab as read, once its run plan resolves (what validate checks)."""
    topo = loads(LAB.replace("PROBE", probe).replace("STEPS", steps), source="lab.yaml", exporter=exporter)
    resolve(topo)
    return topo


def errors(probe: str = PROBE, steps: str = STEP, exporter: str | None = None) -> list[str]:
    with pytest.raises(TopologyError) as exc:
        lab(probe, steps, exporter)
    return [str(p) for p in exc.value.problems]


def test_the_default_kind_is_ours_and_kinds_are_read():
    assert lab().probes["p1"].kind == "netflow-lab"
    p = lab(PROBE.replace("{node", "{kind: softflowd, require: [dst_mask], node")).probes["p1"]
    assert (p.kind, p.require) == ("softflowd", frozenset({"dst_mask"}))
    assert p.exporter is kind("softflowd")


@pytest.mark.parametrize("probe, error", [
    ("{kind: sofflowd, node: r1, interfaces: [eth0], collectors: [ref]}",
     "lab.yaml:13: probes.p1.kind: unknown probe kind 'sofflowd' (one of: netflow-lab, softflowd, pmacctd, fprobe, command"),
    ("{kind: fprobe, node: r1, interfaces: [eth0], collectors: [ref], max_flows: 100}",
     "lab.yaml:12: probes.p1: fprobe cannot run this probe: max_flows: fprobe has no flow-count limit, "
     "only -m KILOBYTES of memory"),
    ("{kind: softflowd, node: r1, interfaces: [eth0], collectors: [ref], engine_id: 3}",
     "lab.yaml:12: probes.p1: softflowd cannot run this probe: engine_id: softflowd writes 0 into the v5 "
     "engine fields"),
    ("{kind: pmacctd, node: r1, interfaces: [eth0], collectors: [ref], claims: {}}",
     "lab.yaml:13: probes.p1.claims: claims: belongs to kind: command (this probe is pmacctd)"),
    ("{kind: command, node: r1, interfaces: [eth0], collectors: [ref], command: [x, '{collector}']}",
     "lab.yaml:12: probes.p1: kind: command needs claims: (what the exporter fills, {} for nothing)"),
    ("{kind: command, node: r1, interfaces: [eth0], collectors: [ref], command: [x, '{colector}'], claims: {}}",
     "lab.yaml:13: probes.p1.command: command: argv word '{colector}': unknown placeholder {colector} "
     "(did you mean 'collector'?)"),
    ("{kind: command, node: r1, interfaces: [eth0], collectors: [ref], command: [x, '{interfaces:}x{collectors}'], "
     "claims: {}}",  # once left "}x{collectors" in the argv
     "lab.yaml:13: probes.p1.command: command: argv word '{interfaces:}x{collectors}': only {interfaces:FLAG}"),
    ("{node: r1, interfaces: [eth0], collectors: [ref], require: [dst_msk]}",
     "lab.yaml:13: probes.p1.require[0]: require: unknown claim 'dst_msk'"),
    ("{node: r1, interfaces: [eth0], collectors: [n1]}",
     "lab.yaml:13: probes.p1.collectors: nfcapd is a second opinion: the probe also needs a reference collector"),
])
def test_bad_probe_kinds_are_errors_with_their_lines(probe, error):
    found = errors("    " + probe)
    assert any(e.startswith(error) for e in found), found


def test_a_claims_block_is_checked_key_by_key_at_its_line():
    probe = """\
    kind: command
    node: r1
    interfaces: [eth0]
    collectors: [ref]
    command: [myprobe, -i, "{interfaces}", -n, "{collector}"]
    claims:
      fills: [input, dst_msk]
      icmp: sideways
      tos_in_key: maybe"""
    found = errors(probe)
    assert "lab.yaml:19: probes.p1.claims.fills: claims.fills: unknown record field 'dst_msk' " \
           "(did you mean 'dst_mask'?); known: input, output, next_hop, src_mask, dst_mask, tcp_flags, tos" in found
    assert "lab.yaml:20: probes.p1.claims.icmp: claims.icmp: expected one of dport, sport-dport, none; " \
           "got 'sideways'" in found
    assert "lab.yaml:21: probes.p1.claims.tos_in_key: claims.tos_in_key: expected true or false, got 'maybe'" in found
    good = lab(probe.replace(", dst_msk", "").replace("sideways", "dport").replace("maybe", "true")).probes["p1"]
    assert good.exporter.claims().fills == {"input"} and good.exporter.claims().tos_in_key
    assert good.exporter.name == "command"


COMMAND = ("    {kind: command, node: r1, interfaces: [eth0, eth1], collectors: [ref], claims: {},\n"
           "     command: CMD,\n"
           "     EXTRA}")


def command_probe(cmd: str = "[myprobe, '{interfaces:-i}', -n, '{collector}']", extra: str = "") -> str:
    return COMMAND.replace("CMD", cmd).replace(",\n     EXTRA", ",\n     " + extra if extra else "")


def test_start_and_stop_of_a_command_reach_its_launch():
    from pathlib import Path
    extra = ("start: {packet_sockets: 0, settle: 1.5, timeout: 30},\n"
             "     stop: {signal: SIGINT, command: 'myctl -c {workdir}/{name}-{interface}.ctl stop', "
             "timeout: 4, exits: [0, 130, SIGINT, KILL]}")
    topo = lab(command_probe("[myprobe, -i, '{interface}', -n, '{collector}']", extra))
    launch = resolve(topo, Path("/w")).exporters["p1"].launch()
    assert [p.stop_command for p in launch.processes] == [
        ("myctl", "-c", "/w/p1-eth0.ctl", "stop"), ("myctl", "-c", "/w/p1-eth1.ctl", "stop")]
    assert [p.packet_sockets for p in launch.processes] == [0, 0]
    assert (launch.stop_signal, launch.stop_timeout_s, launch.clean_exits, launch.settle_s,
            launch.ready_timeout_s) == (signal.SIGINT, 4.0, {0, 130, -2, -9}, 1.5, 30.0)
    plain = lab(command_probe()).probes["p1"].exporter  # the defaults: Launch's
    assert (plain.stop_signal, plain.stop_command, plain.clean_exits, plain.packet_sockets) == (
        signal.SIGTERM, (), {0}, 1)
    assert lab(command_probe(extra="stop: {signal: INT}")).probes["p1"].exporter.stop_signal == signal.SIGINT


@pytest.mark.parametrize("extra, error", [
    ("stop: {signal: STOP}", "lab.yaml:15: probes.p1.stop.signal: stop: unknown signal 'STOP' "
                             "(one of: TERM, INT, HUP, QUIT, USR1, USR2, KILL)"),
    ("stop: {exits: [0, 300]}", "lab.yaml:15: probes.p1.stop.exits[1]: expected an exit status in 0..255, got 300"),
    ("stop: {exits: [0, SIGSTOP]}", "lab.yaml:15: probes.p1.stop.exits[1]: stop: exits: expected an exit status "
                                    "0..255 or a signal (TERM, INT, HUP, QUIT, USR1, USR2, KILL), got 'SIGSTOP'"),
    ("stop: {timeout: 0}", "lab.yaml:15: probes.p1.stop.timeout: expected a number of seconds > 0"),
    ("stop: {command: 'ctl \"stop'}", "lab.yaml:15: probes.p1.stop.command: stop: command: No closing quotation"),
    ("stop: {command: [ctl, '{iface}']}", "lab.yaml:15: probes.p1.stop.command: stop: command: argv word "
                                          "'{iface}': unknown placeholder {iface}"),
    ("stop: {command: [ctl, '{interface}']}", "lab.yaml:15: probes.p1.stop: stop: the stop command uses "
                                              "per-interface placeholders, but the command runs one process"),
    ("stop: {sginal: INT}", "lab.yaml:15: probes.p1.stop.sginal: unknown field 'sginal' (did you mean 'signal'?)"),
    ("start: {packet_sockets: -1}", "lab.yaml:15: probes.p1.start.packet_sockets: expected a socket count in 0..64"),
    ("start: 3", "lab.yaml:15: probes.p1.start: expected a mapping (how the exporter starts"),
])
def test_bad_start_and_stop_blocks_are_errors_with_their_lines(extra, error):
    found = errors(command_probe(extra=extra))
    assert any(e.startswith(error) for e in found), found


def test_start_and_stop_belong_to_kind_command():
    found = errors(PROBE.replace("{node", "{kind: softflowd, stop: {signal: INT}, node"))
    assert any("probes.p1.stop: stop: belongs to kind: command (this probe is softflowd)" in e for e in found)
    found = errors(command_probe(cmd="\"myprobe 'half\""))
    assert any("probes.p1.command: command: No closing quotation" in e for e in found), found


def test_control_steps_and_taps_are_refused_for_kinds_that_cannot():
    sf = PROBE.replace("{node", "{kind: softflowd, node")
    found = errors(sf, STEP + "\n  - {kind: control, probe: p1, command: stats}")
    assert any("lab.yaml:16: traffic[1].probe: probe p1 is softflowd: only netflow-lab answers on a "
               "control socket" in e for e in found), found
    fp = PROBE.replace("{node", "{kind: fprobe, node")
    found = errors(fp, STEP + "\n  - {kind: impair, probe: p1, drop: 10%}")
    assert any("traffic[1]: impair needs an export tap on p1, but fprobe exports from 2 processes" in e
               for e in found), found
    lab(fp.replace("[eth0, eth1]", "[eth0]"), STEP + "\n  - {kind: impair, probe: p1, drop: 10%}")  # one: fine
    found = errors(PROBE.replace("[ref]", "[ref, n1]"), STEP + "\n  - {kind: collector, collector: n1, action: stop}")
    assert any("n1 is an nfcapd collector: only reference collectors are stopped" in e for e in found), found


def test_exporter_switches_every_probe_and_drops_its_own_words():
    ours = PROBE.replace("}", ", args: [--quirk, uptime-seconds]}")
    assert lab(ours).probes["p1"].args == ("--quirk", "uptime-seconds")
    switched = lab(ours, exporter="pmacctd").probes["p1"]
    assert (switched.kind, switched.args) == ("pmacctd", ())
    found = errors(PROBE.replace("}", ", max_flows: 10}"), exporter="fprobe")
    assert any("fprobe cannot run this probe: max_flows" in e for e in found)


def _ctx(topo) -> Context:
    return Context(resolve(topo).exporters["p1"].facts)


def test_unclaimed_checks_are_na_with_the_reason_and_require_makes_them_count():
    topo = lab(PROBE.replace("{node", "{kind: softflowd, node"))
    checks = {c.name: c for c in topo.expect}
    empty = Collector().result()
    ctx = _ctx(topo)
    v = judge(checks["masks"], empty, ctx)
    assert (v.status, v.passed, v.na) == ("n/a", True, "softflowd does not fill dst_mask")
    assert judge(checks["fin"], empty, ctx).na.startswith("softflowd does not export a TCP flow at its FIN/RST")
    assert judge(checks["tos"], empty, ctx).na == "softflowd does not put TOS in the flow key"
    assert judge(checks["counted"], empty, ctx).status == "FAIL"  # conservation always applies
    required = lab(PROBE.replace("{node", "{kind: softflowd, require: [dst_mask, tos_in_key], node"))
    ctx = _ctx(required)
    for name in ("masks", "tos"):
        v = judge({c.name: c for c in required.expect}[name], empty, ctx)
        assert v.status == "FAIL" and "no record matches" in v.problems[0]
    ours = lab()
    assert judge({c.name: c for c in ours.expect}["masks"], empty, _ctx(ours)).status == "FAIL"


def test_by_windows_come_from_the_exporters_claims():
    def of(kind: str, by: str = "inactive_timeout"):
        topo = loads(LAB.replace("PROBE", PROBE.replace("{node", f"{{kind: {kind}, node")).replace("STEPS", STEP)
                     .replace("by: fin_rst", f"by: {by}"), "lab.yaml")
        return {c.name: c for c in topo.expect}["fin"].expected(_ctx(topo))
    assert of("netflow-lab") == (2.0, 3.5)
    assert of("fprobe") == (2.0, 14.0)
    assert of("softflowd") == (1.0, 4.0)
    assert of("netflow-lab", "fin_rst") == (0.0, 1.5)


def test_na_in_the_table_junit_and_json(tmp_path):
    verdicts = [Verdict("a", "flow", True, "ok"), Verdict("b", "flow", False, "", ("x: expected 1, got 2",)),
                Verdict("c", "flow", True, na="softflowd does not fill dst_mask")]
    r = RunResult("lab", verdicts)
    assert not r.passed  # b failed
    r.verdicts = [verdicts[0], verdicts[2]]
    assert r.passed  # n/a is not a failure
    text = table.render(r)
    assert "n/a   c  softflowd does not fill dst_mask" in text and "PASSED: 1/1 checks passed (1 n/a)" in text
    junit.write([r], tmp_path / "j.xml")
    suite = ET.parse(tmp_path / "j.xml").getroot()
    assert suite.get("skipped") == "1"
    assert suite.find("testcase[@name='c']/skipped").get("message") == "n/a: softflowd does not fill dst_mask"
    from testbed.run.many import result_from_json, result_json
    back = result_from_json(result_json(r))
    assert [v.status for v in back.verdicts] == ["PASS", "n/a"]


def test_the_matrix_passes_only_when_every_required_cell_passed():
    m = Matrix(["netflow-lab", "softflowd"])
    m.add("quiet", "netflow-lab", [Verdict("counted", "conservation", True, "5 packets: exported exactly")])
    m.add("quiet", "softflowd", [Verdict("counted", "conservation", False, "1 flows, 5 packets sent; 0 of them exported")])
    m.add("fields", "netflow-lab", [Verdict("masks", "flow", True, "ok")])
    m.add("fields", "softflowd", [Verdict("masks", "flow", True, na="softflowd does not fill dst_mask")])
    text = render(m)
    assert "quiet / counted  PASS         FAIL 1 flows, 5 packets sent; 0 of them e..." in text
    assert "fields / masks   PASS         n/a softflowd does not fill dst_mask" in text
    assert not m.passed and text.endswith("FAILED: netflow-lab 2 pass, 0 fail, 0 n/a; softflowd 0 pass, 1 fail, 1 n/a")
    del m.rows[0].cells["softflowd"]
    assert m.passed and '"passed": true' in to_json(m)
