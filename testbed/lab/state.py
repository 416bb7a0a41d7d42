"""The state file of a run: what it created, so a crash can be cleaned up later.

/run/netflow-lab/<run-id>.json is created (exclusively: it also reserves the
run id) before anything else, and rewritten atomically after each thing the
run creates. Format (version 1):

    {"version": 1, "run_id": "nf3a9c", "lab": "quickstart",
     "topology": "topologies/quickstart.yaml", "created": 1700000000.0,
     "owner": {"pid": 4242, "start": 123456},          # the Python process running the lab
     "workdir": "/tmp/netflow-lab-nf3a9c-x", "workdir_owned": true,
     "workdir_link": "/tmp/netflow-lab-nf3a9c.link",  # only for a long workdir: what processes were given
     "nodes": {"r1": {"pid": 4250, "start": 123460, "netns": 4026532999,
                      "marker": "mininet:nf3a9c-r1"}},  # the node's shell (holds its netns)
     "interfaces": [{"node": "r1", "name": "eth0", "ifindex": 2}],
     "processes": [{"node": "r1", "pid": 4300, "start": 123500, "argv": ["python3", "-m", "probe"]}],
     "servers": {"b": {"host": "192.0.2.7", "user": "root", "port": 22, "python": "...",
                       "workdir": "/tmp/netflow-lab-nf3a9c.b"}}}  # a lab spread over servers:
                                     # their nodes and processes say "server": "b"

PIDs come with their start time (clock ticks since boot, /proc/PID/stat field
22): cleanup signals a PID only if both still match.
"""
from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

from . import procs

STATE_DIR = Path("/run/netflow-lab")
VERSION = 1


class StateFile:
    def __init__(self, path: Path, data: dict):
        self.path, self.data = path, data
        self._held, self._dirty = 0, False

    @classmethod
    def create(cls, state_dir: Path, run_id: str, **info) -> "StateFile":
        """Reserve `run_id` (FileExistsError if another run has it) and write the header."""
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / f"{run_id}.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.close(fd)
        me = os.getpid()
        data = {"version": VERSION, "run_id": run_id, "created": time.time(),
                "owner": {"pid": me, "start": procs.start_time(me)}, **info,
                "nodes": {}, "interfaces": [], "processes": []}
        state = cls(path, data)
        state.save()
        return state

    @classmethod
    def read(cls, path: Path) -> "StateFile":
        return cls(path, json.loads(path.read_text()))

    def save(self) -> None:
        if self._held:
            self._dirty = True
            return
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps(self.data))  # no indent: the C encoder
        os.replace(tmp, self.path)  # readers never see half a file
        self._dirty = False

    @contextmanager
    def batch(self):
        """Save once at the end of many additions (interfaces, processes: what a
        crash leaves of them lives in the nodes' namespaces, which `clean`
        searches through the node shells; nodes are always saved at once)."""
        self._held += 1
        try:
            yield self
        finally:
            self._held -= 1
            if not self._held and self._dirty:
                self.save()

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    def owner_alive(self) -> bool:
        owner = self.data.get("owner", {})
        return owner.get("pid") != os.getpid() and procs.alive(owner.get("pid", 0),
                                                                owner.get("start"))

    def add_node(self, name: str, pid: int, marker: str, server: str | None = None,
                 start: int | None = None, netns: int | None = None) -> None:
        """`server`: on a server (its own start time and namespace, as it saw them), not here."""
        entry = {"pid": pid, "start": procs.start_time(pid) if server is None else start,
                 "netns": procs.netns_inode(pid) if server is None else netns, "marker": marker}
        self.data["nodes"][name] = entry if server is None else {**entry, "server": server}
        self.save()

    def add_server(self, name: str, **how) -> None:
        """A server the run builds nodes on, and how to reach it again (`testbed clean`)."""
        self.data.setdefault("servers", {})[name] = how
        self.save()

    def add_interface(self, node: str, name: str, ifindex: int) -> None:
        self.data["interfaces"].append({"node": node, "name": name, "ifindex": ifindex})
        self.save()

    def add_process(self, node: str, pid: int, argv: list[str], server: str | None = None,
                    start: int | None = None) -> None:
        entry = {"node": node, "pid": pid, "start": procs.start_time(pid) if server is None else start,
                 "argv": argv}
        self.data["processes"].append(entry if server is None else {**entry, "server": server})
        self.save()


def all_states(state_dir: Path) -> list[StateFile]:
    out = []
    for path in sorted(state_dir.glob("*.json")) if state_dir.is_dir() else []:
        try:
            out.append(StateFile.read(path))
        except (OSError, ValueError):
            out.append(StateFile(path, {}))  # unreadable: reported by clean, left alone
    return out
