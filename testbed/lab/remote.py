"""The coordinator's end of a server: Mininet Cluster Edition's remote nodes, plus an agent.

Node shells are Mininet's own `RemoteNode` (mininet/examples/cluster.py): a shell in a
new namespace on the server, started over the server's shared SSH connection
(ControlMaster) with `mnexec`, its PID read back with `echo $$`. `ClusterNode`
subclasses it for what the lab needs: the SSH command line of this run (its control
socket, keepalives that notice a lost server in about 3 s, an optional ssh_config, no
local `sudo -u` around ssh, `sudo -n` on the server only when the user is not root).

Everything else goes through one agent per server (testbed/lab/agent.py), started
over the same connection: RemoteNode.popen() gives the local ssh client, not the
program (no PID to record for cleanup, no signal reaches it, exit codes go through
sudo and ssh), and every call costs a new SSH session. The agent starts processes in
nodes and reports their PIDs and exits, forks the probe from a warm interpreter
there, runs the build's batches, moves files both ways and relays control-socket
requests; and it tears the server's part down when the coordinator goes away.

`SshServer` is a `testbed.hosts.Host`: a file a process there wrote is read here
from `pull(path)`, a copy kept under the run's workdir (`servers/NAME/`), brought up
to date by what was appended since. A server that stops answering raises ServerLost
(a LabError) from then on; the run fails with it (run/session.py).
"""
from __future__ import annotations

import base64
import json
import os
import select
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

from mininet.examples.cluster import RemoteNode

from ..logtail import TAIL_BYTES, as_text
from ..polled import PolledProc
from ..topology.servers import Server
from .node import LabError

SSH_CONFIG = "NETFLOW_LAB_SSH_CONFIG"  # an ssh_config file for every connection (keys, known hosts)
CONNECT_TIMEOUT_S = 20.0  # ssh, sudo, and the agent's imports on a busy server
PING_S = 1.0  # the agent tears down after WATCHDOG_S without a request
ALIVE = ["-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=3"]  # ~3 s to notice a lost server
POLL_S = 0.02


class ServerLost(LabError):
    """A server stopped answering mid-run."""


class SshServer:
    """A server of the lab, reached over SSH; `Host` of the nodes placed on it."""

    local = False

    def __init__(self, name: str, server: Server, workdir: Path, mirror: Path, run_id: str,
                 control_dir: Path) -> None:
        self.name, self.server, self.workdir, self.mirror, self.run_id = name, server, Path(workdir), mirror, run_id
        self.python = server.python or sys.executable  # installed at the same path by default
        self.control = control_dir / f".ssh-{run_id}-{name}"  # ssh's ControlPath (a Unix socket)
        self.agent: subprocess.Popen | None = None
        self.agent_process: dict | None = None  # its pid and start time there (`testbed clean` stops it)
        self.lost: str | None = None  # why, once it stopped answering
        self.calls = 0  # round trips to the agent (docs/scale.md)
        self._lock = threading.Lock()
        # the thread whose request may have gone out without its reply read yet: a call cut
        # there (Ctrl-C) leaves the line out of step (and maybe held) for that thread
        self._unanswered: int | None = None
        self._last = time.monotonic()
        self._pinger: threading.Thread | None = None
        self._closing = threading.Event()

    def __repr__(self) -> str:
        return f"<SshServer {self.name} {self.server}>"

    # -- SSH ---------------------------------------------------------------------
    def ssh_argv(self, tty: bool = False) -> list[str]:
        argv = ["ssh", "-q", "-o", "BatchMode=yes", "-o", f"ControlPath={self.control}", "-o", "ControlMaster=auto",
                "-o", "ControlPersist=10", *ALIVE, "-o", "ConnectTimeout=5", "-p", str(self.server.port)]
        if os.environ.get(SSH_CONFIG):
            argv += ["-F", os.environ[SSH_CONFIG]]
        return argv + (["-tt"] if tty else []) + [f"{self.server.user}@{self.server.host}"]

    def remote_command(self, argv: Sequence[str]) -> str:
        """What the server's shell runs (as root: sudo -n when the user is not root)."""
        return shlex.join((["sudo", "-n", "-E"] if self.server.needs_sudo else []) + [str(a) for a in argv])

    # -- the agent -----------------------------------------------------------------
    def connect(self) -> SshServer:
        cmd = [*self.ssh_argv(), "--", self.remote_command([self.python, "-m", "testbed.lab.agent",
                                                             str(self.workdir), self.run_id])]
        self.agent = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      start_new_session=True)  # Ctrl-C is ours to handle, not ssh's
        if not select.select([self.agent.stdout], [], [], CONNECT_TIMEOUT_S)[0]:
            self._give_up(f"no answer within {CONNECT_TIMEOUT_S:g} s")
        line = self.agent.stdout.readline()
        if not line:
            self._give_up(self._ssh_error() or "the connection closed")
        hello = json.loads(line)["ok"]
        self.agent_process = {"pid": hello["pid"], "start": hello["start"], "node": "", "argv": ["agent"]}
        self._pinger = threading.Thread(target=self._ping, name=f"ping-{self.name}", daemon=True)
        self._pinger.start()
        return self

    def _ssh_error(self) -> str:
        try:
            self.agent.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.agent.kill()
            self.agent.wait()
        err = self.agent.stderr.read().decode(errors="replace").strip()
        return f"exit {self.agent.returncode}" + (f": {err.splitlines()[-1]}" if err else "")

    def _give_up(self, why: str) -> None:
        if self.agent.poll() is None:
            self.agent.kill()
        raise LabError(f"server {self.name} ({self.server}): cannot start the agent over SSH: {why}")

    def call(self, op: str, **args):
        if self.lost:
            raise ServerLost(self.lost)
        if self.agent is None:
            raise LabError(f"server {self.name}: not connected")
        if self._unanswered == threading.get_ident():
            raise LabError(f"server {self.name}: an earlier request was interrupted before its reply")
        self.send(op, **args)
        return self.receive()

    def send(self, op: str, **args) -> None:
        """The first half of a call: the request goes; the server works on it while this
        machine does something else (the build's passes); `receive` gets the reply."""
        if self.lost:
            raise ServerLost(self.lost)
        self._lock.acquire()
        try:
            self.calls += 1
            self._unanswered = threading.get_ident()  # until receive() has read its reply
            self.agent.stdin.write((json.dumps({"op": op, **args}) + "\n").encode())
            self.agent.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            self._lock.release()
            self._lost()
        except BaseException:  # the request may have gone: its reply stays owed
            self._lock.release()
            raise

    def receive(self):
        try:
            line = self.agent.stdout.readline()
            self._unanswered = None
        except (ValueError, OSError):
            line = b""
        finally:
            self._last = time.monotonic()
            self._lock.release()
        return self._reply(line)

    def _lost(self) -> None:
        self.lost = (f"server {self.name} ({self.server}) became unreachable at {time.strftime('%H:%M:%S')}"
                     f" ({self._ssh_error()})")
        raise ServerLost(self.lost)

    def _reply(self, line: bytes):
        if not line:
            self._lost()
        reply = json.loads(line)
        if "error" in reply:
            raise LabError(f"server {self.name}: {reply['error']}")
        return reply["ok"]

    def _ping(self) -> None:
        while not self._closing.wait(PING_S / 2):
            if time.monotonic() - self._last < PING_S or not self._lock.acquire(blocking=False):
                continue
            self._lock.release()
            try:
                self.call("ping")
            except LabError:
                return

    def alive(self) -> None:
        """ServerLost if it stopped answering (a round trip)."""
        self.call("ping")

    def close(self) -> list[str]:
        """Tear its part of the run down (the agent's notes) and close the connection."""
        self._closing.set()
        notes: list[str] = []
        try:
            if self._unanswered == threading.get_ident():
                # a call of this thread was cut (Ctrl-C) after its request may have gone and
                # before its reply was read: the line is out of step (and held, if cut between
                # send and receive). Closing the channel makes the agent tear its part down by
                # itself before it exits (the wait below).
                notes = ["a request was interrupted: the connection was closed, on which the agent tears down"]
            elif self.agent is not None and not self.lost:
                notes = self.call("teardown")
        finally:
            if self.agent is not None:
                try:
                    self.agent.stdin.close()
                except OSError:
                    pass
                try:
                    self.agent.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.agent.kill()
                    self.agent.wait()
            subprocess.run([*self.ssh_argv()[:-1], "-O", "exit", self.ssh_argv()[-1]], capture_output=True)
        return notes

    # -- Host ----------------------------------------------------------------------
    def popen(self, argv: Sequence[str], log: Path, stdout: Path | None = None, node: str = "") -> RemoteProc:
        got = self.call("popen", argv=[str(a) for a in argv], log=str(log), stdout=str(stdout) if stdout else None,
                        node=node)
        return RemoteProc(self, got["pid"], got["start"], list(argv))

    def run(self, argv: Sequence[str], input: str | None = None,
            timeout: float | None = None) -> subprocess.CompletedProcess:
        got = self.call("run", argv=[str(a) for a in argv], input=input, timeout=timeout)
        if got.get("timeout"):
            raise subprocess.TimeoutExpired(list(argv), timeout)
        return subprocess.CompletedProcess(list(argv), got["rc"], got["out"], got["err"])

    def run_many(self, items: list[tuple[list[str], str]]) -> list[subprocess.CompletedProcess]:
        got = self.call("run_many", items=[{"argv": [str(a) for a in argv], "input": data} for argv, data in items])
        return [subprocess.CompletedProcess(argv, g["rc"], g["out"], g["err"]) for (argv, _), g in zip(items, got)]

    def write(self, path: Path, data: bytes) -> None:
        self.call("write", path=str(path), data=base64.b64encode(data).decode())

    def local_copy(self, path: Path) -> Path:
        return self.mirror / Path(path).relative_to(self.workdir)

    def pull(self, path: Path) -> Path:
        """The copy here, with what the file there gained since the last pull appended."""
        here = self.local_copy(path)
        here.parent.mkdir(parents=True, exist_ok=True)
        offset = here.stat().st_size if here.exists() else 0
        while True:
            got = self.call("read", path=str(path), offset=offset)
            if got.get("missing"):
                return here
            data = base64.b64decode(got["data"])
            if data:
                with open(here, "ab") as f:
                    f.write(data)
                offset += len(data)
            if offset >= got["size"] or not data:
                return here

    def tail(self, path: Path, limit: int = TAIL_BYTES) -> str | None:
        got = self.call("read", path=str(path), limit=limit, last=True)
        return None if got.get("missing") else as_text(base64.b64decode(got["data"]), got["size"], limit)

    def head(self, path: Path, limit: int) -> bytes:
        got = self.call("read", path=str(path), limit=limit)
        if got.get("missing"):
            raise FileNotFoundError(str(path))
        return base64.b64decode(got["data"])

    def pull_all(self) -> list[Path]:
        """Every file of its workdir, here, in one round trip (the end of a run: logs, records,
        statistics, captures)."""
        have = {str(p.relative_to(self.mirror)): p.stat().st_size for p in self.mirror.rglob("*") if p.is_file()} \
            if self.mirror.is_dir() else {}
        out = []
        for rel, data in self.call("read_all", path=str(self.workdir), have=have).items():
            here = self.mirror / rel
            here.parent.mkdir(parents=True, exist_ok=True)
            with open(here, "ab") as f:
                f.write(base64.b64decode(data))
            out.append(here)
        return out

    def packet_sockets(self, pid: int) -> int:
        return self.call("packet_sockets", pid=pid)

    def kill_group(self, pid: int, sig: int) -> None:
        self.call("signal", pid=pid, sig=int(sig), group=True)

    def ctl(self, path: str, request: dict, timeout: float = 1.0) -> dict | str:
        """A control-socket request relayed by the agent: the reply, or why it failed (a string)."""
        got = self.call("ctl", path=str(path), line=json.dumps(request), timeout=timeout)
        if "failed" in got:
            return f"the probe's control socket {path} on server {self.name}: {got['failed']}"
        if not got["reply"]:
            return f"the probe at {path} on server {self.name} closed the connection without an answer"
        return json.loads(got["reply"])

    def fork_server(self, target: str, warm: tuple[str, ...] = ()) -> RemoteForkServer:
        return RemoteForkServer(self, target, warm)

    # -- nodes ----------------------------------------------------------------------
    def node(self, name: str) -> ClusterNode:
        return ClusterNode(name, self)

    def adopt(self, nodes: dict) -> None:
        self.call("adopt", nodes=nodes)

    def info(self, pids: list[int]) -> dict[int, tuple[int | None, int | None]]:
        return {int(p): tuple(v) for p, v in self.call("info", pids=pids).items()}


class RemoteProc(PolledProc):
    """A process the agent started on a server, as the lab uses a Popen."""

    POLL_S = POLL_S

    def __init__(self, server: SshServer, pid: int, start: int | None, args: list[str]) -> None:
        self.server, self.pid, self.start, self.args = server, pid, start, args
        self.returncode: int | None = None
        self.log_path: Path | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.server.call("status", pids=[self.pid])[str(self.pid)]
        return self.returncode

    def where(self) -> str:
        return f"pid {self.pid} on {self.server.name}"

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            self.server.call("signal", pid=self.pid, sig=int(sig))


class RemoteForkServer:
    """testbed/forkserver.py's trick on a server: the agent imports the program once and
    forks it into each node (ForkServer's `spawn`)."""

    def __init__(self, server: SshServer, target: str, warm: tuple[str, ...]) -> None:
        self.server, self.target, self.warm = server, target, warm

    def spawn(self, ns_pid: int, argv: list[str], log: str, node: str = "") -> RemoteProc:
        got = self.server.call("spawn", target=self.target, warm=list(self.warm), ns_pid=ns_pid,
                               argv=[str(a) for a in argv], log=str(log), node=node)
        return RemoteProc(self.server, got["pid"], got["start"], [self.target, *argv])

    def close(self) -> None:
        pass


class ClusterNode(RemoteNode):
    """Mininet's RemoteNode with this run's SSH: see the module's docstring."""

    def __init__(self, name: str, ssh: SshServer, **params) -> None:
        self.ssh = ssh
        super().__init__(name, server=ssh.name, user=ssh.server.user, serverIP=ssh.server.host,
                         controlPath=str(ssh.control), **params)

    def startShell(self, *args, **kwargs):
        # RemoteMixin runs `sudo -E -u USER ssh ...` here (no sudo on a coordinator that is
        # root), without keepalives or our control socket: the run's own command line
        self.sshcmd = self.ssh.ssh_argv(tty=True)
        return super().startShell(*args, **kwargs)

    def finishInit(self):
        # the remote tty can echo Mininet's `echo $$` before its `stty -echo` takes (seen once in
        # the suite: 'echo $$\r\n7909\r\r\n'): the PID is the last word
        self.pid = int(self.waitOutput().split()[-1])

    def _popen(self, cmd, sudo=True, tt=True, **params):
        return super()._popen(cmd, sudo=sudo and self.ssh.server.needs_sudo, tt=tt, **params)


def teardown_server(name: str, part: dict) -> list[str]:
    """`testbed clean` for a server a state file names: connect, hand the agent what the
    state says runs there, let it stop that (LabError when it cannot be reached)."""
    server = Server(name, part["host"], part.get("user", "root"), part.get("port", 22), part.get("python"),
                    part.get("sudo"))
    ssh = SshServer(name, server, Path(part["workdir"]), Path("/nonexistent"), part["run_id"],
                    Path(part.get("control_dir", "/tmp")))
    ssh.connect()
    try:  # the run's own agent too, if it still waits for its coordinator
        ssh.call("adopt", nodes=part.get("nodes", {}), processes=[*part.get("processes", []),
                                                                   *([part["agent"]] if part.get("agent") else [])])
    finally:
        notes = ssh.close()
    return [f"server {name}: {n}" for n in notes]
