"""`--junit FILE` and `--artifacts DIR` of `python -m testbed run`."""
from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import pytest
from scapy.layers.inet import UDP
from scapy.utils import rdpcap

from labruns import TOPOLOGIES, run_id_of, run_testbed
from testbed.topology import load

pytestmark = pytest.mark.root
if os.geteuid() != 0:
    pytest.skip("lab runs need root (namespaces, veths)", allow_module_level=True)

LAB = TOPOLOGIES / "two-routers.yaml"  # two probes, one collector: every kind of file twice


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    """One run of LAB with --junit and --artifacts: (completed process, junit path, folder)."""
    tmp = tmp_path_factory.mktemp("reports")
    junit, folder = tmp / "junit.xml", tmp / "artifacts"
    done = run_testbed("run", LAB, "--junit", junit, "--artifacts", folder)
    assert done.returncode == 0, done.stdout + done.stderr
    return done, junit, folder


def test_junit_has_one_testcase_per_check(reported):
    _, junit, _ = reported
    suite = ET.parse(junit).getroot()
    checks = load(LAB).expect
    cases = suite.findall("testcase")
    assert suite.tag == "testsuite" and suite.get("name") == "netflow-lab.two-routers"
    assert [c.get("name") for c in cases] == [c.name for c in checks]
    assert [c.get("classname") for c in cases] == [f"two-routers.{c.kind}" for c in checks]
    assert suite.get("tests") == str(len(checks)) and suite.get("failures") == "0"
    assert all(c.find("failure") is None and c.find("system-out").text for c in cases)


def test_artifacts_hold_records_stats_sequence_captures_and_logs(reported):
    done, _, folder = reported
    assert f"artifacts: {folder}/" in done.stdout
    index = (folder / "INDEX.txt").read_text()
    records = [json.loads(line) for line in (folder / "records-ref.jsonl").read_text().splitlines()]
    sequence = json.loads((folder / "sequence-ref.json").read_text())
    assert len(records) == sum(e["records"] for e in sequence) > 0
    assert {(e["exporter"], e["engine_id"]) for e in sequence} == {("10.255.0.1", 1), ("10.255.1.2", 2)}
    assert all(e["records_lost"] == 0 for e in sequence)
    sweep = [r for r in records if r["dst"] == "192.168.7.7" and r["engine_id"] == 1]
    assert sweep and sweep[0]["dst_mask"] == 24 and sweep[0]["next_hop"] == "10.255.1.2"
    for probe in ("p1", "p2"):
        (run,) = json.loads((folder / f"probe-{probe}.stats.json").read_text())
        assert run["final"]["records_sent"] > 0 and run["final"]["packets"] >= 5
        # at the stop the probe reads its ring to the end: never fewer than it had before
        assert run["final"]["packets"] >= run["before_stop"]["packets"]
    pcaps = {p.name: p for p in (folder / "pcap").glob("*.pcap")}
    assert set(pcaps) == {"export-ref.pcap", "r1-eth0.pcap", "r1-eth1.pcap", "r2-eth0.pcap"}
    for name, path in pcaps.items():
        assert len(rdpcap(str(path))) > 0, f"{name} is empty"
    exported = rdpcap(str(pcaps["export-ref.pcap"]))
    assert all(p[UDP].dport == 2055 for p in exported)
    work = folder / "work"
    assert (work / "collector-ref.jsonl").stat().st_size > 0
    assert "probe: capturing on" in (work / "probe-p1.1.log").read_text()
    verdicts = json.loads((folder / "verdicts.json").read_text())
    assert [v["status"] for v in verdicts] == ["PASS"] * len(load(LAB).expect)
    assert "PASSED:" in (folder / "report.txt").read_text()
    for name in ("records-ref.jsonl", "probe-p1.stats.json", "sequence-ref.json", "pcap/r1-eth0.pcap",
                 "work/collector-ref.jsonl", "work/probe-p2.1.log", "sent-flows.jsonl"):
        assert f"\n{name} " in index, name


def test_a_deep_artifacts_folder_gives_its_processes_a_short_path(tmp_path):
    """A CI workspace puts --artifacts deep: the probe's control socket in it would not fit a
    Unix socket path (107 bytes); the run hands its processes a short symlink, removes it after."""
    deep = tmp_path / ("a-long-ci-workspace-directory-name" * 2) / "artifacts"
    done = run_testbed("run", TOPOLOGIES / "quickstart.yaml", "--artifacts", deep, "--check", "udp-flow-counts")
    assert done.returncode == 0, done.stdout + done.stderr
    run = run_id_of(done.stdout)
    assert (deep / "work" / "probe-p1.1.stats.json").is_file()
    assert f"\nwork/probe-p1.1.log " in (deep / "INDEX.txt").read_text()
    assert not os.path.lexists(f"/tmp/netflow-lab-{run}.link")
