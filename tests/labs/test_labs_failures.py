"""Runs that fail, crash or overlap: clear messages, exit codes, and nothing left behind."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest
import yaml

from labruns import TOPOLOGIES, StateWatch, leftovers, run_id_of, run_testbed, spawn_testbed

pytestmark = pytest.mark.root
if os.geteuid() != 0:
    pytest.skip("lab runs need root (namespaces, veths)", allow_module_level=True)

QUICKSTART = TOPOLOGIES / "quickstart.yaml"


def quickstart_variant(tmp_path, name: str, traffic=None, expect=None) -> tuple:
    """quickstart.yaml with other traffic or checks, written to tmp_path/NAME.yaml."""
    doc = yaml.safe_load(QUICKSTART.read_text())
    doc["name"] = name
    if traffic is not None:
        doc["traffic"] = traffic
    if expect is not None:
        doc["expect"] = expect(doc["expect"]) if callable(expect) else expect
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path, doc


def test_a_wrong_expectation_fails_with_a_clear_message(tmp_path):
    def wrong_mask(checks):  # untimed checks only (fast), the first with a wrong dst_mask
        checks = [c for c in checks if c["kind"] != "exported_within"]
        checks[0]["dst_mask"] = 16
        return checks

    path, doc = quickstart_variant(tmp_path, "wrong-mask", expect=wrong_mask)
    junit = tmp_path / "junit.xml"
    state_dir = tmp_path / "state"
    with StateWatch(state_dir) as watch:
        done = run_testbed("run", path, "--junit", junit, "--state-dir", state_dir)
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "FAIL  tcp-flow-has-the-right-interfaces" in out
    assert re.search(r"- dst_mask: expected 16 \(r1 route 10\.0\.2\.0/24 dev eth1\), got 24$", out, re.M), out
    assert "> in/out ifindex or route enrichment is wrong on r1" in out  # the check's message:
    assert re.search(rf"FAILED: {len(doc['expect']) - 1}/{len(doc['expect'])} checks passed", out)
    failure = ET.parse(junit).getroot().find("testcase[@name='tcp-flow-has-the-right-interfaces']/failure")
    assert failure is not None and failure.get("message").startswith("dst_mask: expected 16")
    assert leftovers(watch.states[run_id_of(out)], state_dir) == []


def test_an_invalid_file_exits_2_naming_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(QUICKSTART.read_text().replace("- h1:eth0 -- r1:eth0", "- h1:eth0 -- r9:eth0"))
    done = run_testbed("run", path)
    assert done.returncode == 2
    assert re.search(rf"^{re.escape(str(path))}:\d+: links\[0\]: .*r9", done.stderr, re.M), done.stderr


def test_a_killed_run_is_cleaned_up_by_clean(tmp_path):
    path, _ = quickstart_variant(tmp_path, "killed", traffic=[{"kind": "wait", "seconds": 120}],
                                 expect=[{"name": "seq", "kind": "sequence"}])
    state_dir = tmp_path / "state"
    with StateWatch(state_dir) as watch:
        proc = spawn_testbed("run", path, "--state-dir", state_dir)
        try:  # running: nodes built, collector and probe started
            state = watch.wait_for(lambda s: any("probe" in p["argv"] for p in s["processes"]))
        finally:
            proc.send_signal(signal.SIGKILL)  # no cleanup of its own can run
            proc.communicate()
        state = watch.states[state["run_id"]]
    run = state["run_id"]
    assert len(leftovers(state, state_dir)) > 3  # shells, namespaces, probe, collector, state file
    done = run_testbed("clean", "--run-id", run, "--state-dir", state_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{run}: removed" in done.stdout
    assert leftovers(state, state_dir) == []


def test_two_runs_in_parallel_both_pass(tmp_path):
    state_dir = tmp_path / "state"
    labs = [TOPOLOGIES / "four-ports.yaml", TOPOLOGIES / "fragments.yaml"]
    with StateWatch(state_dir) as watch:
        procs = [spawn_testbed("run", lab, "--state-dir", state_dir) for lab in labs]
        outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, out + err
    runs = [run_id_of(out) for out, _ in outs]
    assert runs[0] != runs[1]
    for run in runs:
        assert leftovers(watch.states[run], state_dir) == []


def _state_with(watch, word):
    """The first state of the run with a process whose argv has `word` (probe, collect)."""
    return watch.wait_for(lambda s: any(word in p["argv"] for p in s["processes"]))


def test_a_collector_that_dies_is_reported_and_what_it_had_is_judged(tmp_path):
    udp = {"kind": "udp", "from": "h1", "to": "h2", "packets": 5}
    path, _ = quickstart_variant(tmp_path, "collector-dies", traffic=[
        {**udp, "name": "first", "dport": 7001}, {"kind": "control", "probe": "p1", "command": "flush"},
        {"kind": "wait", "seconds": 4}, {**udp, "name": "second", "dport": 7002}],
        expect=[{"name": "first-counted", "kind": "conservation", "step": "first"},
                {"name": "seq", "kind": "sequence"}])
    state_dir, art = tmp_path / "state", tmp_path / "art"
    with StateWatch(state_dir) as watch:
        proc = spawn_testbed("run", path, "--state-dir", state_dir, "--artifacts", art)
        state = _state_with(watch, "collect")
        while "[2/4] control" not in proc.stdout.readline():  # flushed; now the 4 s wait
            pass
        written = art / "work" / "collector-ref.jsonl"
        while '"type": "record"' not in written.read_text():  # the collector has the record
            time.sleep(0.02)
        (pid,) = [p["pid"] for p in state["processes"] if "collect" in p["argv"]]
        os.kill(pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, out + err  # judged and failed, not "could not run"
    assert "PASS  first-counted" in out
    assert re.search(r"FAIL  seq .*\n.*the probe sent \d+ records, 1 arrived", out), out
    assert re.search(r"FAIL  collector ref ran until the end\s*\n\s*- collector ref died \(exit -9\) "
                     r"before the run stopped it; first seen dead at \S+ \(after step 3 wait\); "
                     r"its last record arrived at", out), out
    assert (art / "report.txt").exists() and (art / "verdicts.json").exists()
    assert leftovers(watch.states[state["run_id"]], state_dir) == []


def test_ctrl_c_is_one_line_exit_130_and_cleans_up(tmp_path):
    path, _ = quickstart_variant(tmp_path, "interrupted", traffic=[{"kind": "wait", "seconds": 60}],
                                 expect=[{"name": "seq", "kind": "sequence"}])
    state_dir = tmp_path / "state"
    with StateWatch(state_dir) as watch:
        proc = spawn_testbed("run", path, "--state-dir", state_dir)
        state = _state_with(watch, "probe")
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGINT)  # a second Ctrl-C does not cut the cleanup short
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert err.strip() == "python -m testbed run: interrupted; the lab was torn down", err
    assert leftovers(watch.states[state["run_id"]], state_dir) == []


def test_an_export_address_nobody_listens_on_fails_the_run():
    done = run_testbed("run", TOPOLOGIES.parent / "tests" / "labs" / "deaf-collector.yaml")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "PASS  seq" in done.stdout  # the reference collector got everything
    assert re.search(r"FAIL  probe p1 exports to listeners\s*\n\s*- 10\.255\.0\.3:2055: nothing listens "
                     r"on UDP port 2055 in c2", done.stdout), done.stdout


def test_artifacts_on_failure_keeps_only_the_labs_that_failed(tmp_path):
    """CI uploads DIR when a job fails: it holds the failed lab's artifacts and nothing of the
    lab that passed; when every lab passes DIR is not left behind at all."""
    untimed = lambda checks: [c for c in checks if c["kind"] != "exported_within"]  # noqa: E731

    def wrong(checks):
        checks = untimed(checks)
        checks[0]["dst_mask"] = 16
        return checks

    good, _ = quickstart_variant(tmp_path, "good", expect=untimed)
    bad, _ = quickstart_variant(tmp_path, "bad", expect=wrong)
    folder = tmp_path / "failed-labs"
    done = run_testbed("run", good, bad, "-j", "2", "--artifacts-on-failure", folder, "--junit", tmp_path / "j.xml")
    assert done.returncode == 1, done.stdout + done.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["bad"]
    assert (folder / "bad" / "verdicts.json").is_file() and list((folder / "bad" / "pcap").glob("*.pcap"))
    again = run_testbed("run", good, "--artifacts-on-failure", tmp_path / "none")
    assert again.returncode == 0 and not (tmp_path / "none").exists(), again.stdout + again.stderr
    refused = run_testbed("run", bad, "--artifacts-on-failure", folder)
    assert refused.returncode == 2 and f"--artifacts-on-failure: {folder / 'bad'} is not empty" in refused.stderr


def test_a_relative_artifacts_folder_is_where_the_command_ran(tmp_path):
    done = subprocess.run([sys.executable, "-m", "testbed", "run", str(TOPOLOGIES / "faults" / "drop-everything.yaml"),
                           "--artifacts", "art", "--state-dir", str(tmp_path / "state")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "art" / "report.html").is_file() and list((tmp_path / "art" / "work").glob("probe-p1.*"))
