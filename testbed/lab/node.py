"""One lab node: a Mininet node (a shell in its own network namespace) plus helpers.

`cmd()` is Mininet's (a shell line, its output); `run()` runs one command in
the node and raises on failure; `popen()` and `start()` start a background
process there and record its PID in the run's state file so a crash can be
cleaned up. `host` is the machine the node is on (testbed/hosts.py: this one,
or a server over SSH); `workdir` is where its files go, on that machine.
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
from itertools import count
from pathlib import Path
from typing import Callable

from mininet.node import Node as MininetNode

from ..hosts import LOCAL, Host, Proc
from ..topology import Node as NodeSpec
from ..forkserver import Forked, ForkServer


class LabError(RuntimeError):
    """A lab could not be built or changed (the message says which command failed)."""


class LabNode:
    def __init__(self, name: str, mn: MininetNode, spec: NodeSpec | None,
                 workdir: Path, on_spawn: Callable[..., None],
                 fork_server: Callable[[str, tuple[str, ...]], ForkServer] | None = None, host: Host = LOCAL):
        self.name = name
        self.spec = spec  # None for the hidden bridge node of a shared segment
        self.mn = mn
        self.host = host
        self.workdir = workdir
        self._workdir, self._on_spawn, self._logs = workdir, on_spawn, count(1)
        self._fork_server = fork_server
        self.procs: list = []  # started by popen() or fork(); reaped by Lab.close()

    @property
    def pid(self) -> int:
        """PID of the node's shell; `mnexec -a PID cmd` runs cmd in the node."""
        return self.mn.pid

    def __repr__(self) -> str:
        return f"<LabNode {self.name} pid={self.pid}>"

    def cmd(self, command: str) -> str:
        """Run a shell line in the node and return its output (Mininet's `node.cmd`)."""
        return self.mn.cmd(command)

    def run(self, argv: list[str] | str, check: bool = True,
            input: str | None = None) -> subprocess.CompletedProcess:
        """Run one command in the node and wait; LabError (with its stderr) if it fails."""
        argv = shlex.split(argv) if isinstance(argv, str) else [str(a) for a in argv]
        done = self.host.run(["mnexec", "-a", str(self.pid), *argv], input=input)
        if check and done.returncode != 0:
            raise LabError(f"{self.name}: {shlex.join(argv)}: "
                           f"{(done.stderr or done.stdout).strip() or f'exit {done.returncode}'}")
        return done

    def popen(self, args: list[str] | str, **kwargs) -> subprocess.Popen:
        """Start a process in the node (in its own session); its PID goes in the state file.

        Without stdout=, its output (stdout and stderr) goes to a log file in the
        lab's workdir; the path is in `proc.log_path`.
        """
        argv = shlex.split(args) if isinstance(args, str) else [str(a) for a in args]
        if not self.host.local:
            if kwargs:
                raise LabError(f"{self.name} is on server {self.host.name}: a process there cannot have pipes "
                               f"or files here ({', '.join(kwargs)})")
            prog = os.path.basename(argv[0]) if argv else "proc"
            return self.start(argv, self._workdir / f"{self.name}.{prog}.{next(self._logs)}.log")
        log = None
        if "stdout" not in kwargs:
            prog = os.path.basename(argv[0]) if argv else "proc"
            log = self._workdir / f"{self.name}.{prog}.{next(self._logs)}.log"
            kwargs["stdout"] = open(log, "wb")  # noqa: SIM115 - handed to the child
            kwargs.setdefault("stderr", subprocess.STDOUT)
        kwargs.setdefault("stderr", subprocess.PIPE)
        try:
            proc = self.mn.popen(argv, **kwargs)
        finally:
            if log is not None:
                kwargs["stdout"].close()  # the child has its own copy
        proc.log_path = log
        self.procs.append(proc)
        self._on_spawn(self.name, proc.pid, argv)
        return proc

    def start(self, argv: list[str], log: Path, stdout: Path | None = None) -> Proc:
        """Start `argv` in the node, its output in `log` (stdout in `stdout` when given), files
        on the node's host; its PID goes in the state file. `proc.log_path` is `log`."""
        argv = [str(a) for a in argv]
        proc = self.host.popen(["mnexec", "-a", str(self.pid), *argv], log, stdout)
        proc.log_path = log
        self.procs.append(proc)
        self._on_spawn(self.name, proc.pid, argv, getattr(proc, "start", None))
        return proc

    def fork(self, target: str, argv: list[str], log: Path, warm: tuple[str, ...] = ()) -> Forked:
        """Start `target` (`module:main`) with `argv` in the node, forked from a warm
        interpreter (testbed/forkserver.py; `warm`: modules it imports later): a
        Python program without its import time. Output (stdout and stderr) goes
        to `log`; the PID goes in the state file."""
        proc = self._fork_server(target, warm).spawn(self.pid, [str(a) for a in argv], log)
        proc.args, proc.log_path = [target, *argv], log
        self.procs.append(proc)
        self._on_spawn(self.name, proc.pid, ["python", "-m", target.split(":")[0].removesuffix(".cli"),
                                             *map(str, argv)], getattr(proc, "start", None))
        return proc

    def links(self) -> list[dict]:
        """`ip -j link` in the node."""
        return json.loads(self.run(["ip", "-j", "link"]).stdout)

    def ifindex(self, ifname: str) -> int:
        """The kernel's ifindex of `ifname` in this node's namespace."""
        out = self.run(["ip", "-j", "link", "show", "dev", ifname]).stdout
        return json.loads(out)[0]["ifindex"]

    def addrs(self, ifname: str) -> list[str]:
        """IPv4 addresses of `ifname` as 'A.B.C.D/LEN', in kernel order."""
        out = self.run(["ip", "-j", "-4", "addr", "show", "dev", ifname]).stdout
        info = json.loads(out)
        return [f"{a['local']}/{a['prefixlen']}" for i in info for a in i.get("addr_info", [])]

    def routes(self) -> list[dict]:
        """`ip -j route` in the node (main table)."""
        return json.loads(self.run(["ip", "-j", "route"]).stdout)
