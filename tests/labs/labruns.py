"""Helpers of the lab tests: run `python -m testbed` as a subprocess, and find what a run left.

A run's state file (in its own --state-dir) is deleted when the run ends, so
`StateWatch` keeps copies while the run is going: after it, `leftovers()`
checks each node shell, process and namespace the run recorded.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from testbed.lab import procs

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGIES = ROOT / "topologies"


def run_testbed(*args, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """`python -m testbed ARGS` from the repository root; output captured as text."""
    return subprocess.run([sys.executable, "-m", "testbed", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def spawn_testbed(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "testbed", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class StateWatch:
    """Copies every state file that appears in `state_dir`, until stopped."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.states: dict[str, dict] = {}  # run id -> the last complete copy
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> "StateWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.is_set():
            for path in self.state_dir.glob("*.json") if self.state_dir.is_dir() else []:
                try:
                    data = json.loads(path.read_text())
                except (OSError, ValueError):
                    continue  # gone, or not written yet
                self.states[data["run_id"]] = data
            time.sleep(0.02)

    def wait_for(self, predicate, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for state in list(self.states.values()):
                if predicate(state):
                    return state
            time.sleep(0.05)
        raise AssertionError(f"no state file in {self.state_dir} got there within {timeout} s")


def processes_naming(text: str) -> list[str]:
    """Processes (not this one) whose command line holds `text`, e.g. `mininet:nf12ab-`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        argv = procs.cmdline(int(entry))
        if any(text in a for a in argv) and _state(int(entry)) not in (None, "Z"):  # zombies hold nothing
            found.append(f"{entry}: {' '.join(argv)[:120]}")
    return found


def _state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(b")") + 2:].split()[0].decode()


def _another_runs_shell(pid: int, run: str) -> bool:
    """A process of another lab run (its node shell, a program of another checkout or of
    another run of this one):
    our namespace is gone and the kernel gave its inode number to that run's (other
    labs may run on this machine at the same time, e.g. from other worktrees)."""
    words = procs.cmdline(pid)
    if not words:
        return False
    if words[-1].startswith("mininet:"):
        return not words[-1].startswith(f"mininet:{run}-")
    # a program of another run of this checkout (pytest -n 2): its files are in that run's
    # workdir (/tmp/netflow-lab-RUN-..., testbed/lab/lab.py: a player's plan, a collector's records)
    if any("/netflow-lab-" in w for w in words) and not any(f"/netflow-lab-{run}-" in w for w in words):
        return True
    return words[0].startswith("/") and ".venv/" in words[0] and not words[0].startswith(str(ROOT))


def leftovers(state: dict, state_dir: Path) -> list[str]:
    """Everything of the run `state` describes that still exists (empty: all gone)."""
    run = state["run_id"]
    found = [f"node shell {name} ({n['pid']})" for name, n in state["nodes"].items()
             if procs.alive(n["pid"], n["start"])]
    found += [f"process {p['pid']} {p['argv'][:3]}" for p in state["processes"]
              if procs.alive(p["pid"], p["start"])]
    held = procs.by_netns()
    for name, n in state["nodes"].items():
        holders = [p for p in held.get(n["netns"], []) if not _another_runs_shell(p, run)]
        if holders:
            found.append(f"namespace of {name} (held by {[(p, procs.cmdline(p)[:6]) for p in holders]})")
    found += processes_naming(f"mininet:{run}-")
    if (state_dir / f"{run}.json").exists():
        found.append(f"state file {state_dir / f'{run}.json'}")
    if state.get("workdir_owned") and Path(state["workdir"]).exists():
        found.append(f"workdir {state['workdir']}")
    return found


def run_id_of(stdout: str) -> str:
    """The run id from the `[build] lab NAME: ... (run nf12ab)` line."""
    for line in stdout.splitlines():
        if line.startswith("[build]") and "(run " in line:
            return line.rsplit("(run ", 1)[1].rstrip(")")
    raise AssertionError(f"no [build] line in:\n{stdout}")
