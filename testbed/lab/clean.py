"""Tear down what a run recorded in its state file - and only that.

Used by `Lab.close()` (the normal path) and by `python -m testbed clean`
(after a crash), so the crash path is exercised by every run. Order: the
processes the run started in its nodes, then strays found in the run's own
namespaces (only while the run's verified shells still hold them, so the
namespace cannot be someone else's), then the node shells; the namespaces and
their veths go away with their last process.
"""
from __future__ import annotations

import shutil
import signal
import tempfile
from pathlib import Path

from . import procs
from .node import LabError
from .remote import teardown_server
from .state import STATE_DIR, StateFile, all_states


def teardown(state: StateFile, grace: float = 1.0, remote=None) -> list[str]:
    """Stop everything `state` records; remove its workdir if it made one, then the file.
    `remote(name, part)`: tear down the part a server holds (its notes), raising LabError
    when it cannot be reached: then the file stays, for `clean` to try again."""
    data = state.data
    run = data.get("run_id", state.path.stem)
    servers = data.get("servers", {})
    notes, left = [], []
    for name, server in servers.items():
        part = {"run_id": run, "nodes": {n: v for n, v in data.get("nodes", {}).items() if v.get("server") == name},
                "processes": [p for p in data.get("processes", []) if p.get("server") == name], **server}
        try:
            notes += remote(name, part)
        except (LabError, OSError) as exc:
            notes.append(f"{run}: server {name}: {exc}")
            left.append(name)
    here = {"nodes": {n: v for n, v in data.get("nodes", {}).items() if v.get("server") not in servers},
            "processes": [p for p in data.get("processes", []) if p.get("server") not in servers]}
    notes += stop_recorded(here, run, grace)
    _remove_workdir(data, run, notes)
    if left:
        data["servers"] = {n: s for n, s in servers.items() if n in left}
        data["nodes"] = {n: v for n, v in data.get("nodes", {}).items() if v.get("server") in left}
        data["processes"] = [p for p in data.get("processes", []) if p.get("server") in left]
        state.save()
        notes.append(f"{run}: kept {state.path} for servers {', '.join(left)} (`python -m testbed clean` "
                     "again once they answer)")
        return notes
    state.remove()
    notes.append(f"{run}: removed {state.path}")
    return notes


def stop_recorded(data: dict, run: str, grace: float = 1.0) -> list[str]:
    """Stop the processes and node shells `data` records (a state file, or a server's
    part of one, on that server), checking each PID's start time and namespace first."""
    notes: list[str] = []
    recorded = [(p["pid"], p["start"]) for p in data.get("processes", []) if p.get("start")]
    for pid in procs.stop(recorded, grace):
        notes.append(f"{run}: stopped process {pid}")
    nodes = data.get("nodes", {})
    shells = {name: n for name, n in nodes.items()
              if n.get("start") and procs.alive(n["pid"], n["start"])
              and n.get("marker") in procs.cmdline(n["pid"])
              and procs.netns_inode(n["pid"]) == n.get("netns")}
    table = procs.by_netns()
    strays = [(pid, procs.start_time(pid)) for n in shells.values()
              for pid in table.get(n["netns"], []) if pid != n["pid"]]
    for pid in procs.stop([(p, s) for p, s in strays if s is not None], grace):
        notes.append(f"{run}: stopped stray process {pid} in the run's namespace")
    procs.stop([(n["pid"], n["start"]) for n in shells.values()], grace, first=signal.SIGKILL)
    if shells:
        notes.append(f"{run}: stopped {len(shells)} node shells ({', '.join(shells)})")
    for name, n in nodes.items():  # shell gone: the inode may name someone else's namespace now
        held = table.get(n.get("netns"), []) if name not in shells else []
        if held:
            notes.append(f"{run}: {name}'s namespace may still be held by PIDs {held} "
                         "(not started through the lab, so left alone)")
    return notes


def _remove_workdir(data: dict, run: str, notes: list[str]) -> None:
    link = Path(data.get("workdir_link") or "")
    if link.parent == Path(tempfile.gettempdir()) and run in link.name and link.is_symlink():
        link.unlink()  # the short path its processes were given; what it points to stays
    workdir = data.get("workdir")
    if not (workdir and data.get("workdir_owned")):
        return
    path = Path(workdir)
    # Belt and braces: only a temp dir whose name carries this run's id.
    if path.parent == Path(tempfile.gettempdir()) and run in path.name and path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
        notes.append(f"{run}: removed {path}")


def clean(state_dir: Path = STATE_DIR, run_id: str | None = None,
          force: bool = False, remote=None) -> tuple[list[str], bool]:
    """Clean up after runs that are gone. Returns (notes, everything asked for was cleaned)."""
    notes: list[str] = []
    ok = True
    for state in all_states(state_dir):
        run = state.data.get("run_id", state.path.stem)
        if run_id and run != run_id:
            continue
        if not state.data:
            notes.append(f"{state.path}: unreadable, left alone")
            ok = False
        elif state.owner_alive() and not force:
            notes.append(f"{run}: still running (pid {state.data['owner']['pid']}), left alone "
                         "(--force cleans it anyway)")
            ok = ok and run_id is None
        else:
            notes += teardown(state, remote=remote or teardown_server)
            ok = ok and not state.path.exists()
    if run_id and not any(run_id in n for n in notes):
        notes.append(f"{run_id}: no state file in {state_dir}")
        ok = False
    return notes, ok
