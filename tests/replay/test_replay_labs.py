"""Replays through real lab routers: the ground truth holds exactly and a
violated one fails conservation by name; speed, loop and per-source entry;
the live probe agrees with the offline probe on the same frames, and a
difference on the live path is found."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testbed.replay.both import replay_both
from testbed.run.session import Session
from testbed.topology import read_checks, read_lab, read_steps
from testbed import pcap
from testbed.traffic.steps import replay as replay_step

pytestmark = pytest.mark.root
if os.geteuid() != 0:
    pytest.skip("labs need root (namespaces, veths)", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "topologies" / "field-replay.yaml"
OFFICE = {"kind": "replay", "file": "../samples/office.pcap",
          "map": {"192.168.77.0/24": "10.0.1.0/24", "198.51.100.0/24": "10.0.2.0/24"}}


def without_one_echo_request(write_plan):
    """write_plan, then the first ICMP echo request taken out of the file: the
    truth was computed, the packet is never sent."""
    def patched(base, ways, *args):
        path, frames = write_plan(base, ways, *args)
        planned = list(pcap.read(io.BytesIO(path.read_bytes())))
        drop = next(i for i, c in enumerate(planned) if c.data[23] == 1 and c.data[34] == 8)  # ICMP type 8
        refs = [w.ref for w in ways.ways]
        with open(path, "wb") as f:
            pcap.write_pcapng(f, 1, refs, ((c.ts_ns, refs.index(c.ifname), c.data)
                                           for i, c in enumerate(planned) if i != drop))
        return path, frames
    return patched


def test_a_packet_lost_after_the_truth_fails_conservation_with_its_flow(netflow_lab, monkeypatch):
    monkeypatch.setattr(replay_step, "write_plan", without_one_echo_request(replay_step.write_plan))
    lab = netflow_lab(LAB)
    lab.run_step({**OFFICE, "name": "office", "into": "r1", "speed": 10})
    (verdict,) = lab.verdicts([{"name": "counted", "kind": "conservation", "step": "office"}])
    assert not verdict.passed
    assert verdict.problems == (
        "1 of 10 flows differ; 1 packets missing",
        "icmp 10.0.1.10:0 -> 10.0.2.20:2048: sent 3 packets / 252 octets, exported 2 / 168")


def test_speed_loop_and_entry_by_source(netflow_lab):
    lab = netflow_lab(LAB)
    result = lab.run_step({**OFFICE, "name": "twice", "speed": 4, "loop": 2,
                           "into": {"r1:eth0": ["10.0.1.0/24"], "r1:eth1": ["h2"]}})
    assert result.summary.startswith("214 packets in 10 flows from office.pcap "
                                     "(146 into r1:eth0, 68 into r1:eth1); not sent: 8 IPv6, 2 ARP; lag ")
    assert result.report["skipped"] == {"IPv6": 8, "ARP": 2} and result.report["lag_s"] < 0.5
    # 4 times faster, the DNS queries' 4 s gap is 1 s: under the 2 s inactive timeout
    (dns,) = lab.records(src="10.0.1.10", dport=53)
    assert (dns.packets, dns.input) == (4, lab.ifindex("r1:eth0"))
    (back,) = lab.records(src="10.0.2.20", sport=53)
    assert (back.packets, back.input, back.output) == (4, lab.ifindex("r1:eth1"), lab.ifindex("r1:eth0"))
    lab.assert_passed([{"name": "counted", "kind": "conservation", "step": "twice"}])


def test_sources_with_no_way_in_are_counted_not_sent(netflow_lab):
    lab = netflow_lab(LAB)
    result = lab.run_step({**OFFICE, "name": "half", "speed": 10, "into": {"r1:eth0": ["h1"]}})
    assert result.report["packets"] == 73 and result.report["by_way"] == {"r1:eth0": 73}
    assert "34 with a source no into: entry covers (10.0.2.20)" in result.summary
    lab.assert_passed([{"name": "counted", "kind": "conservation", "step": "half"}])


def run_testbed(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "testbed", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)


def test_offline_and_live_agree_on_the_lab_and_on_the_command_line(tmp_path):
    done = run_testbed("replay", "--lab", LAB, "--state-dir", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS  ground truth vs live: 10 flows, 107 packets: exported exactly" in done.stdout
    assert "AGREE live vs offline: 10 flow keys: 14 records live, 14 offline" in done.stdout
    done = run_testbed("replay", ROOT / "samples" / "office.pcap", "--lab", LAB, "--into", "r1:eth0",
                   "--map", "192.168.77.0/24=h1", "--map", "198.51.100.0/24=h2", "--speed", "5",
                   "--state-dir", tmp_path, "--artifacts", tmp_path / "art")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "107 packets in 10 flows from office.pcap (107 into r1:eth0)" in done.stdout
    assert "AGREE live vs offline" in done.stdout
    assert (tmp_path / "art" / "offline-r1-eth0.pcap").is_file()


def test_a_difference_on_the_live_path_is_found(tmp_path):
    topo, known = read_lab(LAB.read_text(), str(LAB), LAB.parent)
    (step,) = read_steps(known, [{**OFFICE, "name": "office", "into": "r1", "speed": 10}], 0, "test")
    (check,) = read_checks(known, [{"name": "truth", "kind": "conservation"}], "test")
    # only the live probe leaves ICMP ports 0: its ICMP records differ from the offline ones
    with Session(topo, say=lambda _: None, extra_probe_args=("--no-icmp-ports",),
                 state_dir=tmp_path) as session:
        out = replay_both(session, step, "p1", check)
    assert not out.agreement.agree and not out.truth.passed
    assert out.agreement.differences == [
        "icmp 10.0.1.10:0 -> 10.0.2.20:0 tos 0 in 2: 1 records live, 0 offline (packets 3 live, 0 offline)",
        "icmp 10.0.1.10:0 -> 10.0.2.20:2048 tos 0 in 2: 0 records live, 1 offline (packets 0 live, 3 offline)"]


def test_bad_options_are_one_line_and_exit_2(tmp_path):
    done = run_testbed("replay", ROOT / "samples" / "office.pcap", "--lab", LAB, "--into", "r9:eth0")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "python -m testbed replay: error: --into: unknown node 'r9' in 'r9:eth0'\n"
    done = run_testbed("replay", ROOT / "samples" / "office.pcap", "--lab", LAB, "--into", "r1",
                   "--map", "10.0.0.0/8=10.0.1.0/24", "--loop", "0")
    assert done.stderr.splitlines() == [
        "python -m testbed replay: error: --map: 10.0.0.0/8 holds more addresses than 10.0.1.0/24: map it "
        "to a /8 or shorter prefix, or to one node or address",
        "python -m testbed replay: error: --loop: expected a loop count in 1..10000, got 0"]
    done = run_testbed("replay", ROOT / "samples" / "office.pcap", "--lab", LAB)
    assert done.returncode == 2 and "--into: where the packets enter" in done.stderr
    done = run_testbed("replay", "--lab", ROOT / "topologies" / "quickstart.yaml")
    assert done.returncode == 2 and "a lab with one replay step" in done.stderr
