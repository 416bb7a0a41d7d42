"""Signals a run meets in the field: Ctrl-C and SIGTERM to the whole process group (as a
terminal or a CI runner sends them), a fork server that is killed or stopped, and SIGTERM
to `run -j` and `compare`. Each ends with one line or with verdicts, and nothing left behind."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from labruns import ROOT, TOPOLOGIES, StateWatch, leftovers
from testbed.lab import procs
from testbed.lab.scratch import clean_stale, scratch

pytestmark = pytest.mark.root
if os.geteuid() != 0:
    pytest.skip("lab runs need root (namespaces, veths)", allow_module_level=True)


def lab_file(tmp_path: Path, name: str, wait: float) -> Path:
    """quickstart with a UDP flow, then a wait (the moment to send a signal)."""
    doc = yaml.safe_load((TOPOLOGIES / "quickstart.yaml").read_text())
    doc["name"] = name
    doc["traffic"] = [{"kind": "udp", "name": "u", "from": "h1", "to": "h2", "dport": 7001, "packets": 5},
                      {"kind": "wait", "seconds": wait}]
    doc["expect"] = [{"name": "counted", "kind": "conservation", "step": "u"}]
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def group_run(*args) -> subprocess.Popen:
    """`python -m testbed ...` leading a process group of its own, as a shell job does."""
    return subprocess.Popen([sys.executable, "-m", "testbed", *map(str, args)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def started(watch: StateWatch) -> dict:
    """The run's state once its probe is up."""
    return watch.wait_for(lambda s: any("probe" in p["argv"] for p in s["processes"]))


def fork_server_of(pid: int) -> int:
    """The fork server the testbed process `pid` started."""
    for child in Path("/proc").iterdir():
        if child.name.isdigit() and "testbed.forkserver" in procs.cmdline(int(child.name)):
            with open(child / "stat") as f:
                if int(f.read().rpartition(")")[2].split()[1]) == pid:
                    return int(child.name)
    raise LookupError(f"no fork server under {pid}")


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_to_the_whole_group_ends_in_one_line(tmp_path, sig, code):
    state_dir = tmp_path / "state"
    with StateWatch(state_dir) as watch:
        proc = group_run("run", lab_file(tmp_path, "group", 60), "--state-dir", state_dir)
        state = started(watch)
        time.sleep(0.5)  # the traffic goes on: the wait step
        os.killpg(proc.pid, sig)
        out, err = proc.communicate(timeout=60)
        state = watch.states[state["run_id"]]
    assert proc.returncode == code, out + err
    assert "Traceback" not in err and "Broken pipe" not in err, err
    assert len(err.strip().splitlines()) <= 1, err
    assert leftovers(state, state_dir) == []


def test_a_killed_fork_server_still_gives_verdicts(tmp_path):
    state_dir = tmp_path / "state"
    with StateWatch(state_dir) as watch:
        proc = group_run("run", lab_file(tmp_path, "forkserver-killed", 2), "--state-dir", state_dir)
        state = started(watch)
        os.kill(fork_server_of(proc.pid), signal.SIGKILL)
        out, err = proc.communicate(timeout=90)
        state = watch.states[state["run_id"]]
    assert proc.returncode == 1, out + err
    assert "PASS  counted" in out, out  # judged on what arrived: the probe flushed at its stop
    assert "FAIL  probe p1 ran cleanly" in out and "the fork server exited" in out, out
    assert "Traceback" not in err, err
    assert leftovers(state, state_dir) == []


def test_a_stopped_fork_server_does_not_block_the_stop(tmp_path):
    state_dir = tmp_path / "state"
    with StateWatch(state_dir) as watch:
        proc = group_run("run", lab_file(tmp_path, "forkserver-stopped", 2), "--state-dir", state_dir)
        state = started(watch)
        server = fork_server_of(proc.pid)
        os.kill(server, signal.SIGSTOP)
        try:
            out, err = proc.communicate(timeout=90)
        finally:
            if procs.start_time(server) is not None:
                os.kill(server, signal.SIGKILL)
        state = watch.states[state["run_id"]]
    assert proc.returncode == 1, out + err
    assert "PASS  counted" in out and "FAIL  probe p1 ran cleanly" in out, out
    assert "the fork server did not answer" in out, out
    assert leftovers(state, state_dir) == []


@pytest.mark.parametrize("command, prefix", [(["run"], "netflow-lab-runs-"),
                                             (["compare", "--exporter", "netflow-lab"], "netflow-lab-compare-")])
def test_sigterm_to_many_runs_stops_every_child_and_cleans_up(tmp_path, command, prefix):
    """run -j and compare: SIGTERM is the interrupt, and their scratch folder names its owner."""
    state_dir = tmp_path / "state"
    labs = [lab_file(tmp_path, f"many{i}", 60) for i in (1, 2)]
    before = set(Path(tempfile.gettempdir()).glob(f"{prefix}*"))
    with StateWatch(state_dir) as watch:
        proc = subprocess.Popen([sys.executable, "-m", "testbed", command[0], *map(str, labs), *command[1:],
                                 "-j", "2", "--state-dir", str(state_dir)], cwd=ROOT, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while sum(any("probe" in p["argv"] for p in s["processes"]) for s in watch.states.values()) < 2:
            assert time.monotonic() < deadline, "the two labs did not start"
            time.sleep(0.1)
        owners = [json.loads((f / "owner.json").read_text())["pid"]
                  for f in set(Path(tempfile.gettempdir()).glob(f"{prefix}*")) - before if (f / "owner.json").exists()]
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=90)
        states = list(watch.states.values())
    assert owners == [proc.pid]  # `testbed clean` can tell whether its run is gone
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err, err
    for state in states:
        assert leftovers(state, state_dir) == []
    assert set(Path(tempfile.gettempdir()).glob(f"{prefix}*")) <= before


def test_clean_removes_scratch_folders_whose_run_is_gone(tmp_path):
    gone = tmp_path / "netflow-lab-runs-old"
    gone.mkdir()
    (gone / "owner.json").write_text('{"pid": 999999999, "start": 1}')
    with scratch("netflow-lab-runs-") as mine:
        notes = clean_stale(tmp_path)
        assert mine.exists()  # ours: alive
    assert not gone.exists() and notes == [f"{gone}: removed (its run is gone)"]
    assert not mine.exists()
