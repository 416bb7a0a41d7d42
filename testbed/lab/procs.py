"""Process identity: a PID is only ours if its start time (and marker) still match.

PIDs get reused, so every PID we record comes with its start time from
/proc/PID/stat; nothing is ever signalled without checking it first.
"""
from __future__ import annotations

import os
import signal
import time


def _stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks since boot), or None if no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(b")") + 2:].split()  # after "(comm) ": the comm may hold spaces
    return fields[0].decode(), int(fields[19])  # fields 3 and 22 of the whole line


def start_time(pid: int) -> int | None:
    found = _stat(pid)
    return found[1] if found else None


def alive(pid: int, start: int | None) -> bool:
    """Is `pid` still the process we recorded, and not a zombie waiting to be reaped?"""
    found = _stat(pid)
    return found is not None and found[1] == start and found[0] != "Z"


def cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def netns_inode(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def by_netns() -> dict[int, list[int]]:
    """netns inode -> PIDs in it (an inode names a namespace only while it exists)."""
    found: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            inode = netns_inode(int(entry))
            if inode is not None:
                found.setdefault(inode, []).append(int(entry))
    return found


def stop(procs: list[tuple[int, int]], grace: float = 1.0,
         first: int = signal.SIGTERM) -> list[int]:
    """Send `first` to each live (pid, start) and its group; SIGKILL what is left after `grace` s.

    Returns the PIDs that were signalled.
    """
    ours = [(pid, start) for pid, start in procs if alive(pid, start)]
    for sig in (first, signal.SIGKILL) if first != signal.SIGKILL else (first,):
        for pid, start in ours:
            if alive(pid, start):  # checked again right before each signal
                _signal(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(alive(p, s) for p, s in ours):
            time.sleep(0.02)
    return [pid for pid, _ in ours]


def _signal(pid: int, sig: int) -> None:
    """The process group when `pid` leads one (mnexec -d calls setsid), else `pid` alone."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass
