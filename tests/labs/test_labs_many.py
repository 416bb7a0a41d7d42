"""`testbed run A B C -j 2 --shard K/N`: several labs, one summary, one JUnit file."""
from __future__ import annotations

import os
import re
import time
import xml.etree.ElementTree as ET
from collections import Counter
from html import unescape

import pytest

from labruns import TOPOLOGIES, run_testbed
from test_labs_failures import quickstart_variant

pytestmark = pytest.mark.root
if os.geteuid() != 0:
    pytest.skip("lab runs need root (namespaces, veths)", allow_module_level=True)


def _fast_quickstart(tmp_path, name, wrong=False):
    def checks(expect):
        expect = [c for c in expect if c["kind"] != "exported_within"]
        if wrong:
            expect[0]["dst_mask"] = 16
        return expect
    return quickstart_variant(tmp_path, name, expect=checks)[0]


def test_several_labs_in_parallel_one_summary_and_one_junit(tmp_path):
    good = _fast_quickstart(tmp_path, "good")
    bad = _fast_quickstart(tmp_path, "bad", wrong=True)
    junit = tmp_path / "all.xml"
    done = run_testbed("run", good, bad, TOPOLOGIES / "fragments.yaml", "-j", "2", "--junit", junit,
                       "--state-dir", tmp_path / "state")
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "[labs] 3 labs, 2 at a time" in out
    assert "FAIL  tcp-flow-has-the-right-interfaces" in out and "PASSED: 5/5 checks passed" in out
    assert f"FAILED: 2/3 labs passed, 14/15 checks; failed: {bad}" in out
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites" and root.get("failures") == "1"
    assert sorted(s.get("name") for s in root) == ["netflow-lab.bad", "netflow-lab.fragments", "netflow-lab.good"]
    assert not list((tmp_path / "state").glob("*.json"))  # every lab cleaned up after itself


def test_a_shard_is_a_deterministic_slice(tmp_path):
    labs = [_fast_quickstart(tmp_path, n) for n in ("a1", "b2", "c3")]
    first = run_testbed("run", *labs, "--shard", "1/2")
    second = run_testbed("run", *reversed(labs), "--shard", "2/2")
    assert first.returncode == second.returncode == 0, first.stdout + first.stderr + second.stderr
    assert "2/2 labs passed" in first.stdout and "lab a1" in first.stdout and "lab c3" in first.stdout
    assert "PASSED" in second.stdout and "lab b2" in second.stdout and "lab a1" not in second.stdout


@pytest.mark.parametrize("args,message", [
    (["--junit", "/nonexistent/x.xml"], "/nonexistent/x.xml: no such directory /nonexistent"),
    (["--run-id", "../../x"], "bad run id '../../x'"),
    (["-j", "0"], "-j must be at least 1"),
    (["--shard", "3/2"], "--shard K/N with 1 <= K <= N"),
    (["--probe-arg=--ifindex=eth0=5"], "--ifindex is set by the netflow-lab kind: write ifindex: {IFNAME: N}"),
])
def test_bad_options_fail_before_anything_is_built(args, message, tmp_path):
    began = time.monotonic()
    done = run_testbed("run", TOPOLOGIES / "quickstart.yaml", *args, "--state-dir", tmp_path / "s")
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert time.monotonic() - began < 3 and not (tmp_path / "s").exists()  # nothing was built


def test_the_same_lab_twice_in_one_report_has_two_sections_and_no_shared_id(tmp_path):
    lab, report = TOPOLOGIES / "faults" / "drop-everything.yaml", tmp_path / "r.html"
    done = run_testbed("run", lab, lab, "-j", "2", "--report", report, "--state-dir", tmp_path / "state")
    assert done.returncode == 0, done.stdout + done.stderr
    page = report.read_text()
    ids = [unescape(i) for i in re.findall(r'\sid="([^"]+)"', page)]
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert {"faults-drop-everything-lab", "faults-drop-everything~2-lab"} <= set(ids)
    run_ids = re.findall(r"&middot; run (nf[0-9a-f]{4})", page)
    assert len(set(run_ids)) == 2, run_ids  # each section is its own run's
