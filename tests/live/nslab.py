"""Test helpers: network namespaces and veths that a test run creates and deletes.

Every name starts with a per-run prefix (`nfl<4 hex>`), and cleanup deletes
exactly the namespaces this Lab created, by name (their veths go with them).
A Lab's owner file (OWNERS/<prefix>.json: its PID and namespaces) outlives a
test process killed before its cleanup ran (SIGKILL, a timeout): the next Lab
deletes the namespaces of every owner that is gone.
`inside(ns)` switches the calling thread into a namespace for a moment, so a
test can open sockets there (they stay in that namespace) without a process.
"""
from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import socket
import subprocess
from pathlib import Path

from testbed.lab import procs

CLONE_NEWNET = 0x40000000
OWNERS = Path("/run/netflow-lab-nslab")
_libc = ctypes.CDLL(None, use_errno=True)


def need_root() -> None:
    if os.geteuid() != 0:
        import pytest

        pytest.skip("needs root (network namespaces, veths, AF_PACKET)")


def new_prefix() -> str:
    return "nfl" + secrets.token_hex(2)


def sh(*args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run(args, input=input, capture_output=True, text=True)
    if check and res.returncode:
        raise RuntimeError(f"{' '.join(args)}: exit {res.returncode}: {res.stderr.strip()}")
    return res


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def inside(ns: str):
    """Run the block with this thread in namespace `ns` (sockets made here stay there)."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)


def clean_stale() -> list[str]:
    """Delete the namespaces of Labs whose process is gone; returns their names."""
    gone = []
    for owner in sorted(OWNERS.glob("*.json")) if OWNERS.is_dir() else []:
        try:
            record = json.loads(owner.read_text())
            if procs.alive(int(record["pid"]), record.get("start")):
                continue
            names = [n for n in record["namespaces"] if n.startswith(owner.stem + "-")]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # half-written by a live Lab, or not ours: leave it
        for name in names:
            sh("ip", "netns", "delete", name, check=False)
        owner.unlink(missing_ok=True)
        gone += names
    return gone


class Lab:
    def __init__(self, prefix: str | None = None) -> None:
        self.prefix = prefix or new_prefix()
        self.namespaces: list[str] = []
        self.owner = OWNERS / f"{self.prefix}.json"
        clean_stale()

    def _record(self) -> None:
        """Say whose namespaces these are (written whole, then renamed)."""
        OWNERS.mkdir(exist_ok=True)
        part = self.owner.with_suffix(".part")
        part.write_text(json.dumps({"pid": os.getpid(), "start": procs.start_time(os.getpid()),
                                    "namespaces": self.namespaces}))
        part.replace(self.owner)

    def ns(self, short: str) -> str:
        """Create namespace PREFIX-short with lo up, IPv6 off (no ND noise)."""
        name = f"{self.prefix}-{short}"
        sh("ip", "netns", "add", name)  # fails on a name that exists: never someone else's
        self.namespaces.append(name)
        self._record()
        self.ip(name, "link", "set", "lo", "up")
        self.sysctl(name, "net.ipv6.conf.all.disable_ipv6=1",
                    "net.ipv6.conf.default.disable_ipv6=1")
        return name

    def ifname(self, short: str) -> str:
        name = f"{self.prefix}{short}"
        assert len(name) <= 15, name
        return name

    def ip(self, ns: str, *args: str) -> str:
        return sh("ip", "-n", ns, *args).stdout

    def ip_batch(self, ns: str, lines: list[str], *opts: str) -> subprocess.CompletedProcess:
        return sh("ip", "-n", ns, *opts, "-force", "-batch", "-",
                  input="".join(line + "\n" for line in lines), check=False)

    def sysctl(self, ns: str, *settings: str) -> None:
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", *settings)

    def veth(self, ns1: str, if1: str, ns2: str, if2: str, *, index1: int | None = None) -> None:
        """A veth pair from ns1/if1 to ns2/if2, both up (made in ns1: never in the root ns)."""
        extra = ["index", str(index1)] if index1 else []
        self.ip(ns1, "link", "add", if1, *extra, "type", "veth", "peer", "name", if2, "netns", ns2)
        self.ip(ns1, "link", "set", if1, "up")
        self.ip(ns2, "link", "set", if2, "up")

    def ifindex(self, ns: str, ifname: str) -> int:
        with inside(ns):
            return socket.if_nametoindex(ifname)

    def mac(self, ns: str, ifname: str) -> str:
        return self.ip(ns, "-br", "link", "show", "dev", ifname).split()[2]

    def cleanup(self) -> None:
        for name in reversed(self.namespaces):
            sh("ip", "netns", "delete", name, check=False)
        self.namespaces.clear()
        self.owner.unlink(missing_ok=True)

    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()


def packet_socket(ns: str, ifname: str) -> socket.socket:
    """A raw AF_PACKET socket in `ns` bound to `ifname`, for sending frames."""
    with inside(ns):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        s.bind((ifname, 0))
    return s
