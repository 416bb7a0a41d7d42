"""Start Python programs inside lab nodes by forking a warm interpreter.

`python -m probe` spends most of its start-up importing itself (and
pyroute2); fifty of them starting at once on two cores queue for seconds. The
fork server imports the program once; each start is then a fork, which joins
the node's network and mount namespaces (as `mnexec -a PID` does), becomes a
session leader with its output in a log file, and calls the program's main
with its arguments. The result is the same process as a `mnexec -a PID python
-m probe ...` would be, without the import. Its exit status is reaped here
and reported on request (the testbed is not its parent).

Started as `python -m testbed.forkserver module:main [WARM_MODULE ...]`.
Protocol (JSON lines on stdin/stdout):
  {"op": "spawn", "ns_pid": P, "argv": [...], "log": PATH} -> {"pid": N} | {"error": "..."}
  {"op": "status", "pids": [N, ...]} -> {"status": {"N": null | exit code}}
Exit codes as Popen reports them: -SIGNAL when a signal ended the child.
The server has no threads (fork is safe) and exits when stdin closes.
"""
from __future__ import annotations

import ctypes
import importlib
import json
import os
import signal
import select
import subprocess
import sys
import time
import traceback

from .polled import PolledProc

CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
ANSWER_TIMEOUT_S = 5.0  # a spawn or a status question
CLOSE_TIMEOUT_S = 5.0
UNSEEN = 256  # the exit status of a program whose fork server went before reaping it


def setns(path: str, kind: int) -> None:
    """Move this process (or thread) into the namespace at `path` (CLONE_NEWNET, CLONE_NEWNS)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, kind) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


def _child(main, ns_pid: int, argv: list[str], log: str) -> None:
    """In the forked child: never returns."""
    code = 1
    try:
        os.setsid()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # close_range(2): one call
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, "w", buffering=1, closefd=False)
        sys.stderr = open(2, "w", buffering=1, closefd=False)
        setns(f"/proc/{ns_pid}/ns/mnt", CLONE_NEWNS)
        setns(f"/proc/{ns_pid}/ns/net", CLONE_NEWNET)
        sys.argv = ["python -m probe", *argv]
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code if isinstance(code, int) else 1)


def serve(target: str, warm: list[str]) -> None:
    """`target` is `module:function`, the program's main(argv) -> exit status;
    `warm` are modules it imports later (lazily), imported here once. Signals sent
    to the whole process group (Ctrl-C, SIGTERM to the group) are the testbed's to
    handle: the server lives until the testbed closes its stdin."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    module, _, func = target.partition(":")
    main = getattr(importlib.import_module(module), func or "main")
    for name in warm:
        importlib.import_module(name)
    done: dict[int, int] = {}
    mine: set[int] = set()
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "spawn":
            try:
                pid = os.fork()
            except OSError as exc:
                reply = {"error": f"fork: {exc.strerror}"}
            else:
                if pid == 0:
                    _child(main, req["ns_pid"], req["argv"], req["log"])
                mine.add(pid)
                reply = {"pid": pid}
        elif req["op"] == "status":
            _reap(mine, done)
            reply = {"status": {str(p): done.get(p) for p in req["pids"]}}
        else:
            reply = {"error": f"unknown op {req['op']!r}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


def _reap(mine: set[int], done: dict[int, int]) -> None:
    for pid in list(mine):
        got, status = os.waitpid(pid, os.WNOHANG)
        if got:
            mine.discard(pid)
            done[pid] = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


class ForkServerGone(RuntimeError):
    """The fork server exited or stopped answering: what it started runs on, unreaped."""


class ForkServer:
    """The testbed's end: one server per lab and program. Every request has a deadline:
    a server that died or stopped (SIGSTOP) is noticed, never waited for."""

    def __init__(self, target: str, warm: tuple[str, ...] = (), python: str = sys.executable) -> None:
        self.proc = subprocess.Popen([python, "-m", "testbed.forkserver", target, *warm],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.gone: str | None = None  # why it can no longer be asked

    def _ask(self, req: dict, timeout: float = ANSWER_TIMEOUT_S) -> dict:
        if self.gone:
            raise ForkServerGone(self.gone)
        try:
            self.proc.stdin.write((json.dumps(req) + "\n").encode())
            self.proc.stdin.flush()
            line = _line(self.proc.stdout, time.monotonic() + timeout)
        except (BrokenPipeError, EOFError):
            self.gone = f"the fork server exited ({_status(self.proc)})"
            raise ForkServerGone(self.gone) from None
        except TimeoutError:
            self.gone = f"the fork server did not answer within {timeout:g} s"
            raise ForkServerGone(self.gone) from None
        return json.loads(line)

    def spawn(self, ns_pid: int, argv: list[str], log: str) -> "Forked":
        reply = self._ask({"op": "spawn", "ns_pid": ns_pid, "argv": argv, "log": str(log)})
        if "error" in reply:
            raise OSError(reply["error"])
        return Forked(self, reply["pid"])

    def status(self, pid: int) -> int | None:
        return self._ask({"op": "status", "pids": [pid]})["status"][str(pid)]

    def close(self) -> None:
        """Close its stdin (it exits); a stopped or stuck one is killed."""
        if self.gone and self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(timeout=CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


def _line(stream, deadline: float) -> bytes:
    """One line from a pipe, by a monotonic deadline (TimeoutError), EOFError at its end."""
    buf = b""
    fd = stream.fileno()
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError
        chunk = os.read(fd, 65536)
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def _status(proc: subprocess.Popen) -> str:
    code = proc.poll()
    return "still running" if code is None else f"signal {-code}" if code < 0 else f"exit {code}"


class Forked(PolledProc):
    """A forked program as the lab uses a Popen: pid, poll, wait, signals, returncode."""

    def __init__(self, server: ForkServer, pid: int) -> None:
        self.server, self.pid = server, pid
        self.returncode: int | None = None
        self.args = None
        self.log_path = None

    def poll(self) -> int | None:
        """Its exit status once it exited; UNSEEN when the server that reaps it went
        first (the program itself runs on: asked through /proc until it is gone)."""
        if self.returncode is None:
            try:
                self.returncode = self.server.status(self.pid)
            except ForkServerGone:
                self.returncode = None if _exists(self.pid) else UNSEEN
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:  # not reaped yet: the pid is still ours
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass


def _exists(pid: int) -> bool:
    """Is `pid` still a live process (not a zombie)?"""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:])
