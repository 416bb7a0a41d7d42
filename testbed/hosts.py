"""Where a lab node's processes run and its files live: this machine, or a server.

Exporters, collectors and traffic players are started through a `Host`: `LocalHost`
is this machine (subprocess and the local file system, as the lab has always done);
a server reached over SSH is `testbed.lab.remote.SshServer`, with the same methods.
Code that starts a process or reads a file a process wrote asks its node's host, so
that nothing relies on a file system shared between machines: a file another host
wrote is read from `pull(path)`, the copy here; a file a process there reads is
written with `write(path, data)`.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Protocol, Sequence

from .logtail import TAIL_BYTES, tail


class Proc(Protocol):
    """A started process, as subprocess.Popen offers it."""

    pid: int
    returncode: int | None

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, sig: int) -> None: ...

    def kill(self) -> None: ...

    def terminate(self) -> None: ...


class Host(Protocol):
    name: str
    local: bool
    python: str  # the project's Python there

    def popen(self, argv: Sequence[str], log: Path, stdout: Path | None = None) -> Proc:
        """Start `argv` in its own session, stdin from /dev/null, its output in `log`
        (stdout in `stdout` when given), both files on the host."""

    def run(self, argv: Sequence[str], input: str | None = None,
            timeout: float | None = None) -> subprocess.CompletedProcess: ...

    def write(self, path: Path, data: bytes) -> None: ...

    def pull(self, path: Path) -> Path:
        """The copy here of `path` on the host, brought up to date (what was appended
        since the last pull); the path itself on this machine."""

    def tail(self, path: Path, limit: int = TAIL_BYTES) -> str | None:
        """The end of a log there (logtail.tail), None when there is no such file."""

    def head(self, path: Path, limit: int) -> bytes:
        """Its first `limit` bytes (FileNotFoundError)."""

    def packet_sockets(self, pid: int) -> int: ...

    def kill_group(self, pid: int, sig: int) -> None:
        """Signal the session `pid` leads (it and whatever it forked)."""


class LocalHost:
    """This machine."""

    name = "local"
    local = True
    python = sys.executable

    def popen(self, argv: Sequence[str], log: Path, stdout: Path | None = None) -> subprocess.Popen:
        with open(log, "wb") as out:
            if stdout is None:
                return subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
            with open(stdout, "wb") as data:
                return subprocess.Popen(list(argv), stdout=data, stderr=out, stdin=subprocess.DEVNULL,
                                        start_new_session=True)

    def run(self, argv: Sequence[str], input: str | None = None,
            timeout: float | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(list(argv), input=input, capture_output=True, text=True, timeout=timeout)

    def write(self, path: Path, data: bytes) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)

    def pull(self, path: Path) -> Path:
        return Path(path)

    def tail(self, path: Path, limit: int = TAIL_BYTES) -> str | None:
        return tail(path, limit) if Path(path).exists() else None

    def head(self, path: Path, limit: int) -> bytes:
        with open(path, "rb") as f:
            return f.read(limit)

    def packet_sockets(self, pid: int) -> int:
        return packet_sockets(pid)

    def kill_group(self, pid: int, sig: int) -> None:
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass


LOCAL = LocalHost()


def packet_sockets(pid: int) -> int:
    """AF_PACKET sockets held by `pid`, its threads and its descendants."""
    try:
        with open(f"/proc/{pid}/net/packet") as f:  # the packet sockets of pid's namespace
            inodes = {line.split()[-1] for line in f.readlines()[1:]}
    except OSError:
        return 0
    held = 0
    for p in _tree(pid):
        try:
            fds = os.listdir(f"/proc/{p}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{p}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                held += 1
    return held


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo += [int(c) for c in f.read().split()]
            except OSError:
                pass
    return out


__all__ = ["Host", "LOCAL", "LocalHost", "Proc", "packet_sockets"]
