"""The agent a server runs for a lab spread over machines (testbed/lab/agent.py), driven
here over pipes as the coordinator drives it over SSH: processes and their exits,
signals, files both ways, and the teardown it owes when the coordinator goes."""
from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testbed.lab import procs


class Agent:
    def __init__(self, workdir: Path, watchdog: float | None = None) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "testbed.lab.agent", str(workdir), workdir.name.split(".")[0]
                                      .removeprefix("netflow-lab-"), *([str(watchdog)] if watchdog else [])],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.hello = json.loads(self.proc.stdout.readline())["ok"]

    def __call__(self, op: str, **args):
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        assert "error" not in reply, reply
        return reply["ok"]


@pytest.fixture
def workdir():
    path = Path(f"/tmp/netflow-lab-nft{os.getpid() % 100000}.a")
    yield path
    assert not path.exists()  # every test ends with the agent's teardown, which removes it


def _gone(pid: int, start: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while procs.alive(pid, start):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_processes_signals_and_files(workdir):
    a = Agent(workdir)
    assert a.hello["pid"] == a.proc.pid
    got = a("popen", argv=["sh", "-c", "echo started; exec sleep 30"], log=str(workdir / "s.log"))
    assert got["start"] == procs.start_time(got["pid"])
    assert a("status", pids=[got["pid"]]) == {str(got["pid"]): None}
    deadline = time.monotonic() + 5
    while a("read", path=str(workdir / "s.log")).get("size", 0) < 8 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert a("signal", pid=got["pid"], sig=signal.SIGTERM) is True
    deadline = time.monotonic() + 5
    while a("status", pids=[got["pid"]])[str(got["pid"])] is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert a("status", pids=[got["pid"]]) == {str(got["pid"]): -signal.SIGTERM}  # as Popen reports it
    assert a("signal", pid=got["pid"], sig=signal.SIGKILL) is False  # reaped: the pid is no longer ours
    assert base64.b64decode(a("read", path=str(workdir / "s.log"))["data"]) == b"started\n"
    a("write", path=str(workdir / "sub" / "plan.json"), data=base64.b64encode(b"{}").decode())
    assert a("read", path=str(workdir / "nothing")) == {"missing": True}
    every = a("read_all", path=str(workdir), have={"s.log": 3})
    assert {k: base64.b64decode(v) for k, v in every.items()} == {"s.log": b"rted\n", "sub/plan.json": b"{}"}
    ran = a("run_many", items=[{"argv": ["cat"], "input": "x\n"}, {"argv": ["sh", "-c", "exit 3"]}])
    assert [(r["rc"], r["out"]) for r in ran] == [(0, "x\n"), (3, "")]
    assert a("teardown")  # its notes
    assert a.proc.wait(timeout=10) == 0


def test_the_channel_closing_tears_everything_down(workdir):
    a = Agent(workdir)
    got = a("popen", argv=["sleep", "30"], log=str(workdir / "s.log"))
    a.proc.stdin.close()  # the coordinator died, or its SSH connection
    assert a.proc.wait(timeout=10) == 0
    assert _gone(got["pid"], got["start"])


def test_a_coordinator_that_stops_pinging_is_gone(workdir):
    a = Agent(workdir, watchdog=1.0)
    got = a("popen", argv=["sleep", "30"], log=str(workdir / "s.log"))
    t0 = time.monotonic()
    assert a.proc.wait(timeout=10) == 0  # no request for a second: it tears down and leaves
    assert time.monotonic() - t0 >= 0.9
    assert _gone(got["pid"], got["start"])
