"""The pytest fixture `netflow_lab` (testbed/pytest_plugin.py): drive a lab from a test."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
import yaml

from labruns import ROOT, TOPOLOGIES, leftovers
from testbed.lab import STATE_DIR
from testbed.topology import TopologyError

pytestmark = pytest.mark.root
if os.geteuid() != 0:
    pytest.skip("labs need root (namespaces, veths)", allow_module_level=True)


def test_steps_records_and_checks(netflow_lab):
    lab = netflow_lab("topologies/quickstart.yaml")  # relative to the rootdir
    step = lab.run_step({"kind": "udp", "name": "mine", "from": "h1", "to": "h2", "dport": 6000,
                         "packets": 7, "size": 50})
    assert step.summary == "7 packets in 1 flows"
    (rec,) = lab.records(dport=6000)  # the probe flushes; the record is there at once
    assert (rec.packets, rec.octets, rec.src, rec.dst) == (7, 7 * 78, "10.0.1.10", "10.0.2.10")
    assert (rec.input, rec.output) == (lab.ifindex("r1:eth0"), lab.ifindex("r1:eth1"))
    lab.run_step({"kind": "ping", "from": "h2", "to": "h1", "packets": 2})
    assert lab.stats()["packets"] >= 7  # (frames still in the capture ring are not counted yet)
    assert lab.ctl("timeouts 30 2") == {"ok": True, "active_s": 30.0, "inactive_s": 2.0}
    verdicts = lab.assert_passed([
        {"name": "mine-counted", "kind": "conservation", "step": "mine"},
        {"name": "ping-back", "kind": "flow", "match": {"src": "h2", "proto": "icmp"},
         "in_if": "r1:eth1", "packets": 2},
        {"name": "seq", "kind": "sequence"}])
    assert [v.name for v in verdicts] == ["mine-counted", "ping-back", "seq"]
    assert len(lab.records(proto=1)) == 2  # stopped: every record, final


def test_a_lab_from_a_dict_and_failed_checks(netflow_lab):
    doc = yaml.safe_load((TOPOLOGIES / "quickstart.yaml").read_text())
    doc.update(name="from-a-dict", traffic=[], expect=[])
    lab = netflow_lab(doc)
    with pytest.raises(TopologyError, match=r"traffic\[0\]\.from: unknown node 'h9'"):
        lab.run_step({"kind": "udp", "from": "h9", "to": "h2"})
    lab.run_step({"kind": "udp", "from": "h1", "to": "h2", "dport": 6001, "packets": 3})
    wrong = [{"name": "mask", "kind": "flow", "match": {"dport": 6001}, "dst_mask": 16}]
    (verdict,) = lab.verdicts(wrong)
    assert not verdict.passed
    assert verdict.problems == ("dst_mask: expected 16 (r1 route 10.0.2.0/24 dev eth1), got 24",)
    with pytest.raises(AssertionError, match=r"mask \(flow\): dst_mask: expected 16"):
        lab.assert_passed(wrong)


def test_the_files_own_traffic_and_checks(netflow_lab):
    lab = netflow_lab(TOPOLOGIES / "fragments.yaml")
    lab.run_traffic()
    assert [v.status for v in lab.assert_passed()] == ["PASS"] * 5


def test_teardown_runs_when_the_test_fails(tmp_path):
    """A failing test in a pytest of its own: its lab is gone afterwards all the same."""
    (tmp_path / "conftest.py").write_text((ROOT / "tests/labs/conftest.py").read_text())
    seen = tmp_path / "state.json"
    (tmp_path / "test_inner_lab.py").write_text(textwrap.dedent(f"""
        import json

        def test_fails(netflow_lab):
            lab = netflow_lab({str(TOPOLOGIES / "four-ports.yaml")!r})
            lab.run_step({{"kind": "udp", "from": "h1", "to": "h2"}})
            with open({str(seen)!r}, "w") as f:
                json.dump(lab.lab.state.data, f)
            assert False, "on purpose"
    """))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--rootdir", str(tmp_path), str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 1 and "1 failed" in done.stdout, done.stdout + done.stderr
    assert "on purpose" in done.stdout
    state = json.loads(seen.read_text())
    assert state["nodes"] and state["processes"]
    assert leftovers(state, STATE_DIR) == []


def test_a_probe_that_dies_fails_the_run(netflow_lab):
    """Records sent before a crash can make every check pass; the crash itself must not."""
    lab = netflow_lab("topologies/quickstart.yaml")
    lab.run_step({"kind": "udp", "from": "h1", "to": "h2", "dport": 6001, "packets": 3})
    lab.records(dport=6001)  # flushed and received before the crash
    (proc,) = lab.session.probe("p1").current.procs  # its process, as a crash would end it
    proc.kill()
    proc.wait()
    verdicts = lab.verdicts([{"name": "counted", "kind": "flow",
                              "match": {"proto": "udp", "dport": 6001}, "packets": 3}])
    by_name = {v.name: v for v in verdicts}
    assert by_name["counted"].passed
    crash = by_name["probe p1 ran cleanly"]
    assert not crash.passed and "died before it was stopped" in crash.problems[0]


XDIST_TESTS = '''
import os
import pytest

@pytest.mark.parametrize("dport", [7001, 7002, 7003, 7004])
def test_one_lab_per_worker(netflow_lab, dport):
    lab = netflow_lab("{quickstart}")
    lab.run_step({{"kind": "udp", "from": "h1", "to": "h2", "dport": dport, "packets": 4}})
    (rec,) = lab.records(dport=dport)
    assert rec.packets == 4
    with open("{seen}", "a") as f:
        f.write(os.environ["PYTEST_XDIST_WORKER"] + " " + lab.run_id + "\\n")
'''


def test_pytest_xdist_runs_labs_in_parallel_workers(tmp_path):
    """`pytest -n 2`: each worker builds its own labs; run ids keep them apart."""
    test_file = tmp_path / "test_parallel_labs.py"
    seen = tmp_path / "seen.txt"
    test_file.write_text(XDIST_TESTS.format(quickstart=TOPOLOGIES / "quickstart.yaml", seen=seen))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider",
                           str(test_file)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=180)
    assert "4 passed" in done.stdout, done.stdout + done.stderr
    workers, runs = zip(*(line.split() for line in seen.read_text().splitlines()))
    assert set(workers) == {"gw0", "gw1"} and len(set(runs)) == 4


@pytest.mark.parametrize("kind", ["pmacctd", "fprobe"])
def test_records_flush_every_kind(netflow_lab, kind):
    """A kind without a control socket cannot be asked to flush: records() stops it (it
    flushes) and starts it again, says so, and the sequence check expects that restart."""
    doc = yaml.safe_load((ROOT / "tests/labs/exporters-lifecycle.yaml").read_text())
    doc.update(traffic=[], expect=[])
    lab = netflow_lab(doc, exporter=kind)
    lab.run_step({"kind": "udp", "from": "h1", "to": "h2", "dport": 6101, "packets": 4})
    (rec,) = lab.records(dport=6101)  # its inactive timeout is 60 s: only the flush exports it now
    assert rec.packets == 4
    assert lab.flushed == [f"p1 ({kind}): no control socket: stopped (it flushed) and started again"]
    lab.run_step({"kind": "udp", "from": "h1", "to": "h2", "dport": 6102, "packets": 3})
    (rec,) = lab.records(dport=6102)  # it runs again, and flushes again
    assert rec.packets == 3
    lab.assert_passed([{"name": "seq", "kind": "sequence"}, {"name": "counted", "kind": "conservation"}])


def test_the_exporter_option_runs_every_probe_as_that_kind(netflow_lab):
    lab = netflow_lab(TOPOLOGIES / "fragments.yaml", exporter="pmacctd")
    assert [e.kind for e in lab.session.plan.exporters.values()] == ["pmacctd"]
    with pytest.raises(ValueError, match="softflowd exports NetFlow version 5, 9, 10, not '4'"):
        netflow_lab(TOPOLOGIES / "fragments.yaml", exporter="softflowd@4")


INNER_ROOT_TEST = '''
def test_a_lab(netflow_lab):
    netflow_lab({quickstart!r})
'''


def test_a_lab_test_without_root_is_skipped_or_failed_as_asked(tmp_path):
    """As an unprivileged user: skipped by default, failed with --lab-require-root (a CI
    that must not skip silently)."""
    folder = Path(tempfile.mkdtemp(prefix="netflow-lab-noroot-", dir="/tmp"))  # pytest's tmp_path is root's only
    try:
        (folder / "test_inner.py").write_text(INNER_ROOT_TEST.format(quickstart=str(TOPOLOGIES / "quickstart.yaml")))
        os.chmod(folder, 0o777)
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(folder)]
        done = subprocess.run(nobody + base, capture_output=True, text=True, cwd=folder, timeout=120)
        assert done.returncode == 0 and "1 skipped" in done.stdout and "needs root" in done.stdout, done.stdout
        done = subprocess.run(nobody + base + ["--lab-require-root"], capture_output=True, text=True, cwd=folder,
                              timeout=120)
    finally:
        shutil.rmtree(folder)
    assert done.returncode == 1 and "1 error" in done.stdout, done.stdout + done.stderr  # failed in its fixture
    assert "netflow_lab needs root (network namespaces, veths, raw sockets); --lab-require-root: not skipped" \
        in done.stdout
