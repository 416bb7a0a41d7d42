"""A server's end of a lab spread over machines: `python -m testbed.lab.agent WORKDIR RUN`.

The coordinator (testbed/lab/remote.py) starts one agent per server over SSH and
speaks JSON lines with it on the SSH channel's stdin/stdout. The agent does on the
server what the lab does on this machine: start processes in lab nodes (an `mnexec
-a PID` argv, with its output in a file there) and report their exit; fork a warm
interpreter's program into a node, as testbed/forkserver.py does (the probe starts
without its import time there too); run short commands (the build's `ip -batch`
passes, many at once); read and write files in its workdir; count a process's
packet sockets; relay a request to a probe's control socket. It answers one request
at a time, in order.

It also holds the server's part of the run's state (the node shells, what it
started) and tears it down, with testbed/lab/clean.py's rules, when the coordinator
asks, when the channel closes (the coordinator died or the network went), or when
no request came for WATCHDOG_S (the coordinator pings every second): a server that
loses its coordinator leaves nothing behind.

Requests: {"op": NAME, ...} -> {"ok": ...} | {"error": "..."}; binary data in base64.
"""
from __future__ import annotations

import base64
import importlib
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from ..forkserver import _child
from ..hosts import packet_sockets
from . import procs
from .clean import stop_recorded

WATCHDOG_S = 15.0  # no request for this long: the coordinator is gone
READ_MAX = 4 << 20  # bytes per read reply
WORKDIR = re.compile(r"^/tmp/netflow-lab-[a-z0-9-]+\.[A-Za-z0-9_-]+$")  # what it may remove


class Agent:
    def __init__(self, workdir: Path, run: str) -> None:
        self.workdir, self.run = workdir, run
        self.children: dict[int, subprocess.Popen | None] = {}  # pid -> Popen (None: forked here)
        self.done: dict[int, int] = {}  # reaped forks: pid -> exit (Popen's convention)
        self.state: dict = {"nodes": {}, "processes": []}
        self.mains: dict[str, object] = {}

    # -- processes ------------------------------------------------------------
    def _note(self, pid: int, node: str, argv: list[str]) -> dict:
        start = procs.start_time(pid)
        self.state["processes"].append({"pid": pid, "start": start, "node": node, "argv": argv})
        return {"pid": pid, "start": start}

    def op_popen(self, argv: list[str], log: str, stdout: str | None = None, node: str = "") -> dict:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        with open(log, "wb") as out:
            data = open(stdout, "wb") if stdout else None  # noqa: SIM115 - the child's
            try:
                proc = subprocess.Popen(argv, stdout=data or out, stderr=out, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
            finally:
                if data:
                    data.close()
        self.children[proc.pid] = proc
        return self._note(proc.pid, node, argv)

    def op_spawn(self, target: str, warm: list[str], ns_pid: int, argv: list[str], log: str,
                 node: str = "") -> dict:
        """A warm interpreter's program forked into a node's namespaces (forkserver.py)."""
        if target not in self.mains:
            module, _, func = target.partition(":")
            self.mains[target] = getattr(importlib.import_module(module), func or "main")
            for name in warm:
                importlib.import_module(name)
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            _child(self.mains[target], ns_pid, argv, log)
        self.children[pid] = None
        return self._note(pid, node, [target, *argv])

    def _exit(self, pid: int) -> int | None:
        proc = self.children.get(pid)
        if proc is not None:
            return proc.poll()
        if pid in self.done:
            return self.done[pid]
        if pid not in self.children:
            return None
        try:
            got, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if got:
            self.done[pid] = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            return self.done[pid]
        return None

    def op_status(self, pids: list[int]) -> dict:
        return {str(p): self._exit(p) for p in pids}

    def op_signal(self, pid: int, sig: int, group: bool = False) -> bool:
        if pid not in self.children or self._exit(pid) is not None:
            return False  # not ours, or reaped: the pid may be someone else's now
        try:
            (os.killpg if group else os.kill)(pid, sig)
        except ProcessLookupError:
            return False
        return True

    # -- commands ---------------------------------------------------------------
    @staticmethod
    def op_run(argv: list[str], input: str | None = None, timeout: float | None = None) -> dict:
        try:
            done = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"timeout": True}
        except OSError as exc:
            return {"rc": 127, "out": "", "err": f"{argv[0]}: {exc.strerror}"}
        return {"rc": done.returncode, "out": done.stdout, "err": done.stderr}

    @staticmethod
    def op_run_many(items: list[dict]) -> list[dict]:
        """Many commands at once (a build pass: one `ip -batch` per node), each with its stdin."""
        running = [(subprocess.Popen(i["argv"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True), i.get("input", "")) for i in items]
        out = []
        for proc, data in running:
            o, e = proc.communicate(data)
            out.append({"rc": proc.returncode, "out": o, "err": e})
        return out

    # -- files ----------------------------------------------------------------
    @staticmethod
    def op_write(path: str, data: str) -> bool:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(base64.b64decode(data))
        return True

    @staticmethod
    def op_read(path: str, offset: int = 0, limit: int = READ_MAX, last: bool = False) -> dict:
        """`limit` bytes from `offset`, or (`last`) the file's last `limit` bytes."""
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                f.seek(max(0, size - limit) if last else offset)
                data = f.read(min(limit, READ_MAX))
        except FileNotFoundError:
            return {"missing": True}
        return {"size": size, "data": base64.b64encode(data).decode()}

    @staticmethod
    def op_read_all(path: str, have: dict[str, int]) -> dict[str, str]:
        """Every file under `path` (relative name -> what follows the `have` bytes the caller
        holds of it), in one reply: the end of a run brings a server's workdir back at once."""
        root = Path(path)
        out = {}
        for p in sorted(root.rglob("*")) if root.is_dir() else []:
            if p.is_file():
                rel = str(p.relative_to(root))
                with open(p, "rb") as f:
                    f.seek(have.get(rel, 0))
                    out[rel] = base64.b64encode(f.read()).decode()
        return out

    # -- the lab's probes -------------------------------------------------------
    @staticmethod
    def op_packet_sockets(pid: int) -> int:
        return packet_sockets(pid)

    @staticmethod
    def op_ctl(path: str, line: str, timeout: float = 1.0) -> dict:
        """One request on a control socket (a JSON line out, a JSON line back), relayed as is."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(path)
            sock.sendall(line.encode() + b"\n")
            chunks = [b""]
            while not chunks[-1].endswith(b"\n"):
                chunk = sock.recv(1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
            return {"reply": b"".join(chunks).decode()}
        except OSError as exc:
            return {"failed": f"{type(exc).__name__}: {exc.strerror or exc}"}
        finally:
            sock.close()

    # -- state -----------------------------------------------------------------
    @staticmethod
    def op_info(pids: list[int]) -> dict:
        """Start time and network namespace of each (a node shell, for the state file)."""
        return {str(p): [procs.start_time(p), procs.netns_inode(p)] for p in pids}

    def op_adopt(self, nodes: dict | None = None, processes: list | None = None) -> bool:
        """Node shells (and, for `testbed clean`, processes) this server's part of the run holds."""
        self.state["nodes"].update(nodes or {})
        self.state["processes"] += processes or []
        return True

    def op_teardown(self, grace: float = 1.0) -> list[str]:
        notes = stop_recorded(self.state, self.run, grace)
        self.state = {"nodes": {}, "processes": []}
        for proc in self.children.values():
            if proc is not None:
                proc.poll()
        if WORKDIR.match(str(self.workdir)) and self.run in str(self.workdir) and self.workdir.is_dir():
            shutil.rmtree(self.workdir, ignore_errors=True)
            notes.append(f"{self.run}: removed {self.workdir}")
        return notes

    @staticmethod
    def op_ping() -> float:
        return time.time()

    # -- the loop ---------------------------------------------------------------
    def serve(self, fd_in: int = 0, stdout=sys.stdout, watchdog: float = WATCHDOG_S) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        me = os.getpid()
        stdout.write(json.dumps({"ok": {"pid": me, "start": procs.start_time(me), "python": sys.executable}}) + "\n")
        stdout.flush()
        buf = b""
        try:
            while True:
                while b"\n" not in buf:
                    if not select.select([fd_in], [], [], watchdog)[0]:
                        return  # the coordinator stopped pinging: gone
                    chunk = os.read(fd_in, 1 << 20)
                    if not chunk:
                        return  # the channel closed
                    buf += chunk
                line, _, buf = buf.partition(b"\n")
                req = json.loads(line)
                op = req.pop("op")
                try:
                    reply = {"ok": getattr(self, f"op_{op}")(**req)}
                except Exception as exc:  # one request failed; the agent goes on
                    reply = {"error": f"{op}: {type(exc).__name__}: {exc}"}
                stdout.write(json.dumps(reply) + "\n")
                stdout.flush()
                if op == "teardown":
                    return
        finally:
            self.op_teardown()


def main(argv: list[str]) -> int:
    """`WORKDIR RUN [WATCHDOG_S]`."""
    workdir, run, *watchdog = argv
    Agent(Path(workdir), run).serve(watchdog=float(watchdog[0]) if watchdog else WATCHDOG_S)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
