"""The fork server starts a program in another process's namespaces, as mnexec -a would."""
import os
import signal
import subprocess
import sys
import time

import pytest

from testbed.forkserver import ForkServer

pytestmark = pytest.mark.root

TARGET = '''
import os, sys, time
def main(argv):
    print("netns", os.readlink("/proc/self/ns/net"), "mntns", os.readlink("/proc/self/ns/mnt"),
          "sid", os.getsid(0) == os.getpid(), flush=True)
    if argv[0] == "sleep":
        time.sleep(60)
    if argv[0] == "raise":
        raise RuntimeError("boom")
    return int(argv[0])
'''


@pytest.fixture
def server(tmp_path, monkeypatch):
    (tmp_path / "fs_target.py").write_text(TARGET)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    holder = subprocess.Popen(["mnexec", "-cdn", "sleep", "120"])  # a namespace, as a lab node's
    s = ForkServer("fs_target:main")
    yield s, holder.pid, tmp_path
    s.close()
    holder.kill()
    holder.wait()


def _log(path):
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "netns" not in (path.read_text() if path.exists() else ""):
        time.sleep(0.01)
    return path.read_text()


def test_runs_in_the_nodes_namespaces_and_reports_its_exit_status(server):
    s, ns_pid, tmp = server
    proc = s.spawn(ns_pid, ["7"], str(tmp / "a.log"))
    assert proc.wait(timeout=10) == 7
    words = _log(tmp / "a.log").split()
    assert words[1] == os.readlink(f"/proc/{ns_pid}/ns/net") != os.readlink("/proc/self/ns/net")
    assert words[3] == os.readlink(f"/proc/{ns_pid}/ns/mnt") and words[5] == "True"


def test_signals_and_crashes_are_reported(server):
    s, ns_pid, tmp = server
    sleeper = s.spawn(ns_pid, ["sleep"], str(tmp / "b.log"))
    _log(tmp / "b.log")
    assert sleeper.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        sleeper.wait(timeout=0.1)
    sleeper.send_signal(signal.SIGTERM)
    assert sleeper.wait(timeout=10) == -signal.SIGTERM
    crash = s.spawn(ns_pid, ["raise"], str(tmp / "c.log"))
    assert crash.wait(timeout=10) == 1
    assert "RuntimeError: boom" in (tmp / "c.log").read_text()


def test_a_namespace_that_is_gone_fails_the_child_not_the_server(server):
    s, _, tmp = server
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    proc = s.spawn(dead.pid, ["0"], str(tmp / "d.log"))
    assert proc.wait(timeout=10) == 1 and "setns" in (tmp / "d.log").read_text()
    assert s.spawn(server[1], ["3"], str(tmp / "e.log")).wait(timeout=10) == 3
