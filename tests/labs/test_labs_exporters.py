"""Exporters under test in labs: each kind starts, restarts and stops (flushing) as its
Launch says, through a lab file; claims make checks n/a; a command kind; the compare
command's matrix and exit status."""
from __future__ import annotations

import json
import os
import platform
import shlex
import sys
import xml.etree.ElementTree as ET

from pathlib import Path

import pytest

from labruns import TOPOLOGIES, StateWatch, leftovers, run_id_of, run_testbed

pytestmark = pytest.mark.root
if os.geteuid() != 0:
    pytest.skip("lab runs need root (namespaces, veths)", allow_module_level=True)

HERE = os.path.dirname(__file__)
LIFECYCLE = os.path.join(HERE, "exporters-lifecycle.yaml")
BINARY = {"softflowd": "softflowd", "pmacctd": "pmacctd", "fprobe": "fprobe"}


@pytest.mark.parametrize("kind", list(BINARY))
def test_each_kind_starts_restarts_and_flushes_through_a_lab_file(kind, tmp_path):
    state_dir = tmp_path / "state"
    with StateWatch(state_dir) as watch:
        done = run_testbed("run", LIFECYCLE, "--exporter", kind, "--state-dir", state_dir, timeout=180)
    out = done.stdout
    assert done.returncode == 0, f"{out}\n{done.stderr}"
    assert f"[probe] p1 ({kind}) on r1 (eth0, eth1)" in out and "[4/8] probe: probe p1 restart" in out
    assert "PASS  flushed-at-restart" in out and "PASS  flushed-at-the-end" in out
    assert f"n/a   masks               {kind} does not fill dst_mask" in out
    state = watch.states[run_id_of(out)]
    started = [p["argv"][0] for p in state["processes"]]
    assert started.count(BINARY[kind]) == 2 * (2 if kind == "fprobe" else 1)  # two runs; fprobe: one per interface
    assert leftovers(state, state_dir) == []


def test_a_command_kind_runs_its_template_with_the_claims_it_states(tmp_path):
    lab = tmp_path / "command.yaml"
    text = open(LIFECYCLE).read().replace(
        "p1: {node: r1,",
        "p1: {kind: command, command: [%s, -m, probe, '{interfaces:-i}', -n, '{collector}', "
        "--inactive-timeout, '{inactive}', --active-timeout, '{active}', --control, '{workdir}/{name}.cmd.ctl'], "
        "claims: {fills: [input, output, tcp_flags, tos], icmp: dport}, node: r1," % sys.executable)
    lab.write_text(text)
    done = run_testbed("run", lab, timeout=180)
    out = done.stdout
    assert done.returncode == 0, f"{out}\n{done.stderr}"
    assert "[probe] p1 (command) on r1" in out and "PASS  flushed-at-restart" in out
    assert "n/a   masks               p1 does not fill dst_mask" in out  # it does, but does not claim it


def _short_lab(tmp_path, command: str):
    text = open(LIFECYCLE).read().replace("p1: {node: r1, interfaces: [eth0, eth1],",
                                          f"p1: {{kind: command, command: {command}, claims: {{}}, node: r1, interfaces: [eth0],")
    lab = tmp_path / "short.yaml"
    lab.write_text(text.split("  - {kind: udp, name: push1")[0] + "  - {kind: wait, seconds: 1}\n"
                   "expect:\n  - {name: counted, kind: conservation}\n")
    return lab


def test_a_kind_that_exits_at_start_or_dies_fails_the_run(tmp_path):
    done = run_testbed("run", _short_lab(tmp_path, "[sh, -c, 'exit 3']"), timeout=120)
    assert done.returncode == 2 and "probe p1 (command): sh exited at start (3)" in done.stderr, done.stderr
    # holds its capture socket (so it started), then exits after 3 packets: before the run stopped it
    done = run_testbed("run", _short_lab(tmp_path, "[tcpdump, -i, '{interfaces}', -c, '3', -w, /dev/null]"),
                       timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL  probe p1 ran cleanly" in done.stdout
    assert "run 1: tcpdump died before it was stopped: exit 0" in done.stdout


def test_a_command_starts_and_stops_as_its_lab_says(tmp_path):
    """start: an exporter that holds no packet socket (NFLOG, eBPF...) is not waited for;
    stop: one that ignores SIGTERM stops cleanly on its own signal, and is killed without it."""
    loop = "[sh, -c, \"trap 'exit 0' INT; trap '' TERM; while :; do sleep 0.1; done\"]"
    lab = _short_lab(tmp_path, loop + ", start: {packet_sockets: 0}, stop: {signal: INT, timeout: 5}")
    done = run_testbed("run", lab, timeout=120)  # it exports nothing: conservation fails
    assert "[probe] p1 (command) on r1" in done.stdout and "FAIL  counted" in done.stdout, done.stdout
    assert "ran cleanly" not in done.stdout, done.stdout  # stopped by SIGINT, exit 0
    dies = "[sh, -c, \"trap '' TERM; while :; do sleep 0.1; done\"]"  # SIGINT ends it: Popen's -2
    lab = _short_lab(tmp_path, dies + ", start: {packet_sockets: 0}, stop: {signal: INT, exits: [0, SIGINT]}")
    done = run_testbed("run", lab, timeout=120)
    assert "[probe] p1 (command) on r1" in done.stdout and "ran cleanly" not in done.stdout, done.stdout
    lab = _short_lab(tmp_path, loop + ", start: {packet_sockets: 0}, stop: {timeout: 1}")
    done = run_testbed("run", lab, timeout=120)
    assert done.returncode == 1 and "FAIL  probe p1 ran cleanly" in done.stdout, done.stdout + done.stderr
    assert "sh did not stop within 1 s: killed" in done.stdout
    lab = _short_lab(tmp_path, loop + ", start: {timeout: 1}")  # waits for a socket it never opens
    done = run_testbed("run", lab, timeout=120)
    assert done.returncode == 2 and "did not open its 1 capture socket(s) within 1 s" in done.stderr, done.stderr


def test_compare_prints_the_matrix_and_fails_on_a_required_cell(tmp_path):
    """--format json for a bug report: versions, the exact argv, one cause for softflowd's three
    FAILs, the files to attach, and per cell a command that runs that cell again."""
    quiet = TOPOLOGIES / "conformance" / "quiet-link.yaml"
    art = tmp_path / "art"
    done = run_testbed("compare", quiet, "--exporter", "netflow-lab", "--exporter", "softflowd",
                       "--json", tmp_path / "m.json", "--format", "json", "--artifacts", art, timeout=240)
    assert done.returncode == 1, done.stdout + done.stderr
    m = json.loads(done.stdout)  # stdout is the document; progress went to stderr
    assert m == json.loads((tmp_path / "m.json").read_text())
    assert "[compare] 1 labs x 2 exporters: 2 runs" in done.stderr
    cells = {r["check"]: r["cells"] for r in m["rows"]}
    assert cells["every-packet-exported"]["netflow-lab"]["status"] == "PASS"
    sf = cells["every-packet-exported"]["softflowd"]
    assert sf["status"] == "FAIL" and sf["key"] == "1 flows, 5 packets sent; 0 of them exported"
    assert m["environment"]["kernel"] == platform.release() and m["environment"]["libpcap"][0].isdigit()
    assert m["exporter_info"]["softflowd"]["tool"][0].isdigit()
    assert m["exporter_info"]["softflowd"]["package"].startswith("softflowd ")
    (cause,) = m["causes"]  # the three FAILs are one ring timeout: said once
    assert cause["exporter"] == "softflowd" and "ring-block retire timeout" in cause["text"]
    assert [c["check"] for c in cause["cells"]] == list(cells)
    assert {c["softflowd"]["cause"] for c in cells.values()} == {1}
    (run,) = [r for r in m["runs"] if r["exporter"] == "softflowd"]
    (argv,) = run["commands"]["p1"]
    assert argv[0] == "softflowd" and argv[argv.index("-n") + 1] == "10.255.0.2:2055"
    assert all(Path(f).is_file() for f in sf["attach"]), sf["attach"]
    assert {Path(f).name for f in sf["attach"]} == {"export-ref.pcap", "r1-eth0.pcap", "r1-eth1.pcap"}
    command = shlex.split(sf["reproduce"])
    assert command[:3] == ["python", "-m", "testbed"], command
    again = run_testbed(*command[3:], timeout=120)
    verdicts = [line for line in again.stdout.splitlines() if line[:6] in ("PASS  ", "FAIL  ", "n/a   ")]
    assert again.returncode == 1 and len(verdicts) == 1, again.stdout + again.stderr
    assert verdicts[0].split()[:2] == ["FAIL", "every-packet-exported"]
    assert "0 of them exported" in verdicts[0]


def test_compare_exits_0_when_the_only_other_cells_are_na(tmp_path):
    lab = TOPOLOGIES / "conformance" / "cache-pressure.yaml"
    done = run_testbed("compare", lab, "--exporter", "netflow-lab", "--exporter", "fprobe",
                       "--junit", tmp_path / "j.xml", timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 runs, 1 at a time; 1 not run (n/a)" in done.stdout
    assert "[fprobe] conformance-cache-pressure: every check n/a: fprobe cannot run this probe: max_flows" in done.stdout
    suites = {s.get("name"): s for s in ET.parse(tmp_path / "j.xml").getroot()}
    assert suites["netflow-lab.conformance-cache-pressure[fprobe]"].get("skipped") == "2"
    assert suites["netflow-lab.conformance-cache-pressure[netflow-lab]"].get("failures") == "0"


NAMED = """\
name: named-timeouts
nodes:
  h1: {kind: host, interfaces: {eth0: 10.0.1.10/24}, routes: [default via r1]}
  h2: {kind: host, interfaces: {eth0: 10.0.2.10/24}, routes: [default via r1]}
  c1: {kind: host, interfaces: {eth0: 10.255.0.2/30}, routes: [default via r1]}
  r1: {kind: router, interfaces: {eth0: 10.0.1.1/24, eth1: 10.0.2.1/24, eth2: 10.255.0.1/30}}
links: [h1:eth0 -- r1:eth0, r1:eth1 -- h2:eth0, r1:eth2 -- c1:eth0]
collectors:
  ref: {node: c1}
probes:
  p1: {kind: KIND, node: r1, interfaces: [eth0], collectors: [ref], inactive_timeout: 12, timeouts: {udp: 2}}
traffic:
  - {kind: udp, name: quiet, from: h1, to: h2, dport: 5001, packets: 5}
  # softflowd reads its ring a full block at a time (docs/exporters.md): a busy flow hands it over
  - {kind: udp, name: push, from: h1, to: h2, sport: 9, dport: 9, packets: 3000, rate: 20000, size: 0}
expect:
  - {name: udp-by-its-own-timeout, kind: exported_within, match: {dport: 5001}, by: inactive_timeout}
"""


@pytest.mark.parametrize("kind", ["softflowd", "pmacctd"])
def test_named_timeouts_reach_the_tool_the_checks_and_the_artifacts(kind, tmp_path):
    """timeouts: {udp: 2} with an inactive timeout of 12: the UDP flow is exported after 2 s
    and the check's window is the one for 2 s; the argv and config are kept per run."""
    lab = tmp_path / "named.yaml"
    lab.write_text(NAMED.replace("KIND", kind))
    done = run_testbed("run", lab, "--artifacts", tmp_path / "art", timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS  udp-by-its-own-timeout" in done.stdout and "(claimed 1..4 s)" in done.stdout, done.stdout
    launch = (tmp_path / "art" / "work" / "launch-p1.1.txt").read_text()
    assert launch.startswith(f"# exporter p1: {kind}, NetFlow version 5, on r1 (run 1, started ")
    assert "# options: timeouts {udp: 2}" in launch
    assert ("-t udp=2" if kind == "softflowd" else "nfprobe_timeouts: general=12:tcp=12:tcp.rst=12:tcp.fin=12:udp=2")\
        in launch
    report = (tmp_path / "art" / "report.html").read_text()
    assert 'id="named-timeouts-exporters"' in report and f"p1 ({kind}, NetFlow version 5) on r1" in report
    assert "launch-p1.1.txt" in (tmp_path / "art" / "INDEX.txt").read_text()
