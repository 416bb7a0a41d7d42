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


def test_a_command_that_exits_once_it_has_sent():
    from pathlib import Path
    topo = lab(command_probe("[nfreplay, -r, f.nfcapd, -H, '{collector_host}']", "start: {exits: true}"))
    launch = resolve(topo, Path("/w")).exporters["p1"].launch()
    assert launch.exits and [p.packet_sockets for p in launch.processes] == [0]  # it captures nothing
    topo = lab(command_probe(extra="start: {exits: true, packet_sockets: 1}"))
    assert [p.packet_sockets for p in resolve(topo).exporters["p1"].launch().processes] == [1]
    assert not resolve(lab(command_probe())).exporters["p1"].launch().exits


def test_a_runs_launches_come_back_whole_from_a_child_run():
    """compare reads each child run's JSON: the exact argv, stop and config files it ran with."""
    from pathlib import Path
    from testbed.run.compare import ran_with
    from testbed.run.many import result_from_json, result_json
    extra = "stop: {signal: SIGINT, command: 'myctl stop', exits: [0, 130]}"
    launch = resolve(lab(command_probe(extra=extra)), Path("/w")).exporters["p1"].launch()
    launch = type(launch)(**{**{f: getattr(launch, f) for f in launch.__dataclass_fields__},
                             "files": {"/w/p1.conf": "a: 1\n"}})
    back = result_from_json(result_json(RunResult("lab", [], launches={"p1": [launch, launch]})))
    assert back.launches == {"p1": [launch, launch]}
    commands, configs = ran_with(back.launches)
    assert commands == {"p1": [list(p.argv) for p in launch.processes] * 2}
    assert configs == {"p1": {"p1.conf": "a: 1\n"}}


@pytest.mark.parametrize("extra, error", [
    ("start: {exits: yes-please}", "lab.yaml:15: probes.p1.start.exits: expected true or false"),
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


TYPED = """\
    kind: KIND
    node: r1
    interfaces: [eth0, eth1]
    collectors: [ref]
    inactive_timeout: 2"""


def typed(kind: str, *lines: str) -> str:
    return TYPED.replace("KIND", kind) + "".join("\n    " + line for line in lines)


@pytest.mark.parametrize("kind, line, error", [
    ("softflowd", 'args: [-B, "65536", -v, "9"]',
     "lab.yaml:18: probes.p1.args[2]: -v is set by the softflowd kind: write version: N (5, 9 or 10)"),
    ("softflowd", "args: [-dN]", "lab.yaml:18: probes.p1.args[0]: -N is set by the softflowd kind: it already runs "
                                 "without promiscuous mode"),
    ("softflowd", "args: [-t, udp=3]", "lab.yaml:18: probes.p1.args[0]: -t is set by the softflowd kind: "
                                       "write timeouts: {NAME: seconds}"),
    ("pmacctd", "args: [-f, my.conf]", "lab.yaml:18: probes.p1.args[0]: -f is set by the pmacctd kind: the kind "
                                       "writes its config file: write config: {KEY: VALUE}"),
    ("fprobe", "args: [-q, '100000']", "lab.yaml:18: probes.p1.args[0]: -q is set by the fprobe kind: "
                                       "write pending_queue:"),
    ("fprobe", "args: [-n9]", "lab.yaml:18: probes.p1.args[0]: -n is set by the fprobe kind: write version: N"),
    ("netflow-lab", "args: [--inactive, '5']", "lab.yaml:18: probes.p1.args[0]: --inactive-timeout is set by the "
                                               "netflow-lab kind: write inactive_timeout:"),
    ("netflow-lab", "args: [--ifindex=eth0=5]", "lab.yaml:18: probes.p1.args[0]: --ifindex is set by the "
                                                "netflow-lab kind: write ifindex: {IFNAME: N}"),
    ("softflowd", "version: 7", "lab.yaml:18: probes.p1.version: version: softflowd exports NetFlow version "
                                "5, 9, 10, not 7"),
    ("softflowd", "pending_queue: 5", "lab.yaml:18: probes.p1.pending_queue: pending_queue: belongs to kind: "
                                      "fprobe (this probe is softflowd)"),
    ("fprobe", "timeouts: {udp: 3}", "lab.yaml:18: probes.p1.timeouts: timeouts: belongs to kind: softflowd, "
                                     "pmacctd (this probe is fprobe)"),
    ("softflowd", "timeouts: {upd: 3}", "lab.yaml:18: probes.p1.timeouts.upd: unknown timeout 'upd' "
                                        "(did you mean 'udp'?)"),
    ("softflowd", "timeouts: {udp: -1}", "lab.yaml:18: probes.p1.timeouts.udp: expected a number of seconds > 0"),
    ("pmacctd", "active_timeout: 60\n    timeouts: {maxlife: 90}",
     "lab.yaml:19: probes.p1.timeouts.maxlife: timeouts.maxlife is active_timeout: give active_timeout: or "
     "timeouts: {maxlife}, not both"),
    ("pmacctd", "config: {plugins: 'memory'}", "lab.yaml:18: probes.p1.config.plugins: plugins is set by the "
                                               "pmacctd kind: the kind runs one nfprobe plugin per collector"),
    ("pmacctd", "config:\n      nfprobe_version[c0]: 9", "lab.yaml:19: probes.p1.config.nfprobe_version[c0]: "
                                                         "nfprobe_version[c0] is set by the pmacctd kind: write version"),
    ("pmacctd", "config: {snaplen: [1, 2]}", "lab.yaml:18: probes.p1.config.snaplen: snaplen: expected one value "
                                             "on its line, got [1, 2]"),
    ("fprobe", "emit_rate: fast", "lab.yaml:18: probes.p1.emit_rate: expected B:N (N ns after each B bytes sent), "
                                  "got 'fast'"),
    ("netflow-lab", "args: [--ring, 8M]", "lab.yaml:18: probes.p1.args[0]: --ring is set by the netflow-lab kind: "
                                          "write ring:"),
    ("netflow-lab", "ring: 1G", "lab.yaml:18: probes.p1.ring: expected a size like 1M or 512K, got '1G'"),
    ("netflow-lab", "ring: 32K", "lab.yaml:18: probes.p1.ring: expected a size of 64K to 1024M, got '32K'"),
    ("softflowd", "ring: 1M", "lab.yaml:18: probes.p1.ring: ring: belongs to kind: netflow-lab (this probe is "
                              "softflowd)"),
])
def test_typed_fields_and_args_that_collide_are_errors_at_their_lines(kind, line, error):
    found = errors(typed(kind, line))
    assert any(e.startswith(error) for e in found), found


def test_our_probes_ring_is_the_labs_unless_it_says():
    def ring(*lines):
        (p,) = resolve(lab(typed("netflow-lab", *lines))).exporters["p1"].launch().processes
        return p.argv[p.argv.index("--ring") + 1], p.argv.count("--ring")
    assert ring() == ("1M", 1)  # not the standalone probe's 8M
    assert ring("ring: 8M") == (str(8 << 20), 1)
    assert ring("ring: 524288") == (str(512 << 10), 1)


def test_the_version_must_be_one_the_referee_judges():
    """v5, v9 and IPFIX are judged; fprobe's v1 and v7 are not."""
    for version in (1, 7):
        found = errors(typed("fprobe", f"version: {version}"))
        assert any(e.startswith(f"lab.yaml:18: probes.p1.version: version: {version}: the reference collector "
                                "judges NetFlow version 5, 9, 10 only") for e in found), found
    for name, version in (("softflowd", 10), ("pmacctd", 9), ("netflow-lab", 9)):
        assert lab(typed(name, f"version: {version}")).probes["p1"].version == version


def test_our_probe_exports_v9_with_its_template_refresh():
    topo = lab(typed("netflow-lab", "version: 9", "template_packets: 4", "template_interval: 30"))
    (p,) = resolve(topo).exporters["p1"].launch().processes
    assert " --export v9 --template-interval 30 --template-packets 4 " in " ".join(p.argv)
    assert " --export v5 " in " ".join(resolve(lab(typed("netflow-lab"))).exporters["p1"].launch().processes[0].argv)
    found = errors(typed("netflow-lab", "template_packets: 4"))
    assert any("probes.p1: netflow-lab cannot run this probe: template_packets: the template is version 9's: "
               "write version: 9" in e for e in found), found
    found = errors(typed("netflow-lab", "args: [--export, v9]"))
    assert any(e.startswith("lab.yaml:18: probes.p1.args[0]: --export is set by the netflow-lab kind: write version: "
                            "N (5 or 9)") for e in found), found


def test_typed_fields_reach_the_plan_and_explain():
    from testbed.plan.explain import explain
    topo = lab(typed("pmacctd", "timeouts: {udp: 7, maxlife: 90}", "config: {snaplen: 128, nfprobe_dont_cache: true}"))
    p = topo.probes["p1"]
    assert (p.active_timeout, p.version) == (90.0, 5)  # maxlife is the active timeout: the checks know it
    assert p.options.timeouts == (("udp", 7.0),) and p.options.config == (("snaplen", "128"), ("nfprobe_dont_cache", "true"))
    text = "\n".join(explain(resolve(topo)))
    assert "exports NetFlow version 5; options: timeouts {udp: 7}, config {snaplen: 128, nfprobe_dont_cache: true}" in text
    assert "nfprobe_timeouts: general=2:tcp=2:tcp.rst=2:tcp.fin=2:udp=7:icmp=2:maxlife=90:expint=1" in text
    assert "        snaplen: 128" in text and "      pmacctd -f /tmp/netflow-lab-RUN/p1.pmacctd.conf" in text
    fp = lab(typed("fprobe", "pending_queue: 100000", "version: 5"))
    launch = resolve(fp).exporters["p1"].launch()
    assert all(("-q", "100000") == p.argv[p.argv.index("-q"):p.argv.index("-q") + 2] for p in launch.processes)


def test_exporter_at_a_version_and_the_files_own_kind_words():
    sf = typed("softflowd", "timeouts: {udp: 7, maxlife: 90}", "args: [-B, '65536']")
    switched = lab(sf, exporter="pmacctd").probes["p1"]
    assert (switched.kind, switched.args, switched.options, switched.active_timeout) == ("pmacctd", (), None, 90.0)
    assert lab(sf, exporter="softflowd").probes["p1"].options.timeouts == (("udp", 7.0),)
    found = errors(typed("softflowd", "version: 1"), exporter="pmacctd")
    assert any(e.startswith("lab.yaml:18: probes.p1.version: version: pmacctd (--exporter pmacctd) exports NetFlow "
                            "version 5, 9, 10, not 1") for e in found), found
    from testbed.exporters import parse_exporter
    assert parse_exporter("softflowd@9") == ("softflowd", 9) and parse_exporter("fprobe") == ("fprobe", None)
    for bad, why in (("softflowd@7", "softflowd exports NetFlow version 5, 9, 10, not '7'"),
                     ("nprobe@9", "unknown exporter kind 'nprobe'"), ("fprobe@x", "not 'x'")):
        with pytest.raises(ValueError, match=why):
            parse_exporter(bad)


def test_by_inactive_timeout_follows_the_exporters_named_timeouts():
    topo = loads(LAB.replace("PROBE", typed("softflowd", "timeouts: {udp: 6, tcp.fin: 1}")).replace("STEPS", STEP)
                 .replace("by: fin_rst", "by: inactive_timeout")
                 .replace("match: {dport: 80}", "match: {dport: 5000}"), "lab.yaml")
    check = {c.name: c for c in topo.expect}["fin"]
    from testbed.traffic.ipv4 import FlowId
    from testbed.traffic.plan import FlowTruth
    udp = FlowId("10.0.1.10", "10.0.2.10", 4000, 5000, 17, 0)
    ctx = Context(resolve(topo).exporters["p1"].facts, truth={udp: FlowTruth(udp, "h1", 3, 300, 1.0, 2.0)})
    assert check.expected(ctx) == (5.0, 8.0)  # udp=6, softflowd's window -1..+2
    tcp, back = FlowId("10.0.1.10", "10.0.2.10", 4000, 5000, 6, 0), FlowId("10.0.2.10", "10.0.1.10", 5000, 4000, 6, 0)
    fin = {tcp: FlowTruth(tcp, "h1", 3, 300, 1.0, 2.0, flags=0x11), back: FlowTruth(back, "h2", 3, 300, 1.0, 2.0, flags=0x10)}
    assert check.expected(Context(ctx.exporter, truth=fin)) == (1.0, 4.0)  # one side's FIN: tcp (the inactive 2)
    fin[back] = FlowTruth(back, "h2", 3, 300, 1.0, 2.0, flags=0x11)
    assert check.expected(Context(ctx.exporter, truth=fin)) == (0.0, 3.0)  # both sent a FIN: tcp.fin=1
