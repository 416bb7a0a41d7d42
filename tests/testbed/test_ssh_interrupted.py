"""Ctrl-C between a request to a server's agent and its reply (the build sends a pass to
every server, then reads the replies; or while either half runs) leaves the connection out
of step, and held when cut between the two. The run's teardown must neither wait for the
line for ever (it did, about 1 run in 10 of test_ctrl_c_mid_build_cleans_every_server) nor
read the old reply as its own (a TypeError, 1 run in 40): it closes the channel, on which
the agent tears its part down by itself. Driven over pipes, as tests/testbed/test_agent.py does."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from testbed.lab.node import LabError
from testbed.lab.remote import SshServer
from testbed.topology.servers import Server


def connected(tmp_path):
    run = f"nfi{os.getpid() % 100000}"
    workdir = Path(f"/tmp/netflow-lab-{run}.a")
    ssh = SshServer("a", Server("a", "127.0.0.1"), workdir, tmp_path / "mirror", run, tmp_path)
    ssh.agent = subprocess.Popen([sys.executable, "-m", "testbed.lab.agent", str(workdir), run],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ssh.agent.stdout.readline()  # its hello
    assert workdir.is_dir()
    return ssh, workdir


def closed_within(ssh, seconds: int = 20) -> list[str]:
    def too_long(signum, frame):
        raise TimeoutError("close() waited for the line its own interrupted call holds")
    old = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(seconds)
    try:
        return ssh.close()  # the same thread, as the run's teardown after Ctrl-C
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


CLOSED = ["a request was interrupted: the connection was closed, on which the agent tears down"]


def test_close_after_a_call_cut_between_request_and_reply_does_not_hang(tmp_path):
    ssh, workdir = connected(tmp_path)
    ssh.send("ping")  # ... and Ctrl-C before receive(): this thread still holds the line
    assert closed_within(ssh) == CLOSED
    assert ssh.agent.returncode == 0 and not workdir.exists()  # it tore its part down as it exited


def test_a_reply_left_unread_by_a_cut_receive_is_never_taken_for_the_next(tmp_path):
    ssh, workdir = connected(tmp_path)
    real = ssh.agent.stdout

    class Cut:
        def readline(self):
            raise KeyboardInterrupt

    ssh.agent.stdout = Cut()
    with pytest.raises(KeyboardInterrupt):
        ssh.call("ping")  # its reply stays in the pipe
    ssh.agent.stdout = real
    with pytest.raises(LabError, match="interrupted before its reply"):
        ssh.call("ping")
    assert closed_within(ssh) == CLOSED  # not the ping's reply read as the teardown's notes
    assert ssh.agent.returncode == 0 and not workdir.exists()


def test_a_remote_shell_whose_tty_echoed_the_pid_question_still_gives_its_pid():
    """Mininet CE reads `echo $$`'s output as the remote shell's PID; the tty may echo the
    command first (a suite run failed on 'echo $$\\r\\n7909\\r\\r\\n')."""
    from types import SimpleNamespace

    from testbed.lab.remote import ClusterNode
    node = SimpleNamespace(waitOutput=lambda: "echo $$\r\n7909\r\r\n")
    ClusterNode.finishInit(node)
    assert node.pid == 7909
