"""Run a Launch: write its files, start its processes in a namespace, stop them as it says.

    with ExporterProcesses(launch, workdir, prefix=["ip", "netns", "exec", "r1"]) as ex:
        ...traffic...
    ex.stopped.clean, ex.logs()

`prefix` puts a command into the router's namespace (`mnexec -a PID`, `ip
netns exec NS`); it must exec the command, so that the pid we hold is the
exporter's. Ready means: every process (with its children and threads) holds
the AF_PACKET sockets its Launch says, seen in /proc (the libpcap tools open
them when capture starts). Each process leads its own session, so a process
that will not stop is killed with everything it forked, and nothing else.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..forkserver import UNSEEN
from ..logtail import tail
from .model import Launch, Process

POLL_S = 0.02


class ExporterError(RuntimeError):
    """The exporter did not start (the message ends with its log)."""


@dataclass(frozen=True)
class Stopped:
    exits: tuple[int | None, ...]  # per process; negative: killed by that signal
    problems: tuple[str, ...]  # one line each: died early, unclean exit, had to be killed

    @property
    def clean(self) -> bool:
        return not self.problems


def status(returncode: int) -> str:
    """`exit 3`, or `signal SIGINT` for a process a signal ended (Popen's negative codes)."""
    if returncode == UNSEEN:
        return "an exit status nobody saw (its fork server went first)"
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit {returncode}"


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


class ExporterProcesses:
    """`fork(process, log)`: starts a `python_main` process from a warm interpreter in the
    namespace (testbed/forkserver.py) and returns it as a Popen; without it, or for other
    processes, `prefix + argv` is executed."""

    def __init__(self, launch: Launch, workdir: str | os.PathLike, prefix: Sequence[str] = (),
                 fork: Callable[[Process, Path], subprocess.Popen] | None = None) -> None:
        self.launch = launch
        self.workdir = Path(workdir)
        self.prefix = list(prefix)
        self.fork = fork
        self.procs: list[subprocess.Popen] = []
        self.stopped: Stopped | None = None
        self._early: list[bool] | None = None  # per process: dead before the stop was asked

    def log_path(self, process: Process) -> Path:
        return self.workdir / process.log

    def start(self) -> ExporterProcesses:
        self.launch_all()
        try:
            self.wait_ready()
        except BaseException:
            self._kill_all()
            raise
        return self

    def launch_all(self) -> list[int]:
        """Write the files and start every process (not waiting); their pids."""
        for path, text in self.launch.files.items():
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text)
        try:
            for process in self.launch.processes:
                path = self.log_path(process)
                path.parent.mkdir(parents=True, exist_ok=True)
                if process.python_main and self.fork is not None:
                    self.procs.append(self.fork(process, path))
                    continue
                with open(path, "wb") as log:
                    self.procs.append(subprocess.Popen(
                        [*self.prefix, *process.argv], stdout=log, stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL, start_new_session=True))
        except BaseException:
            self._kill_all()
            raise
        return [p.pid for p in self.procs]

    def wait_ready(self, deadline: float | None = None, answers: Callable[[], bool] | None = None) -> None:
        """Until every process holds its packet sockets, and `answers()` (its control socket,
        when the launch has one) is true; ExporterError if one exits first or `deadline`,
        default the launch's ready timeout from now, passes."""
        if deadline is None:
            deadline = time.monotonic() + self.launch.ready_timeout_s
        waiting = list(zip(self.launch.processes, self.procs))
        while True:
            for process, proc in list(waiting):
                if proc.poll() is not None and self.launch.exits:  # done already: its status is judged at the stop
                    waiting.remove((process, proc))
                    continue
                if proc.poll() is not None:
                    raise ExporterError(f"{process.program} exited at start ({proc.returncode}): "
                                        + self._tail(process))
                if packet_sockets(proc.pid) >= process.packet_sockets and self._says_ready(process):
                    waiting.remove((process, proc))
            if not waiting and (answers is None or answers()):
                break
            if time.monotonic() > deadline:
                what = (f"open its {waiting[0][0].packet_sockets} capture socket(s)"
                        + (f" and log {waiting[0][0].ready_log!r}" if waiting[0][0].ready_log else "") if waiting
                        else f"answer on {self.launch.control}")
                process = waiting[0][0] if waiting else self.launch.processes[0]
                raise ExporterError(f"{process.program} did not {what} within {self.launch.ready_timeout_s:g} s: "
                                    + self._tail(process))
            time.sleep(POLL_S)
        time.sleep(self.launch.settle_s)

    def _says_ready(self, process: Process) -> bool:
        """Its log holds its ready line as often as it should (true when it has none)."""
        if process.ready_log is None:
            return True
        try:
            return self.log_path(process).read_text(errors="replace").count(process.ready_log) >= process.ready_count
        except OSError:
            return False

    def stop(self) -> Stopped:
        """Ask every process to stop (its stop command, else the stop signal), wait, then kill."""
        self.request_stop()
        return self.finish_stop()

    def request_stop(self) -> None:
        """Ask every process to stop (its stop command, else the stop signal); once.
        A launch that `exits` is not asked: it ends by itself."""
        if self.stopped is not None or self._early is not None:
            return
        self._early = [proc.poll() is not None for proc in self.procs]
        if self.launch.exits:
            return
        until = time.monotonic() + self.launch.stop_timeout_s  # the stop commands, all together
        for process, proc, dead in zip(self.launch.processes, self.procs, self._early):
            if not dead and not self._ask(process, until):
                proc.send_signal(self.launch.stop_signal)

    def finish_stop(self, deadline: float | None = None) -> Stopped:
        """Wait for the stop `request_stop` began (until `deadline`, default the launch's
        stop timeout from now; then SIGKILL); each problem is one line."""
        if self.stopped is not None:
            return self.stopped
        self.request_stop()
        if deadline is None:
            deadline = time.monotonic() + self.launch.stop_timeout_s
        exits = self.launch.exits  # ending by itself is what it should do
        problems = [f"{process.program} died before it was stopped: {status(proc.returncode)}: " + self._tail(process)
                    for process, proc, dead in zip(self.launch.processes, self.procs, self._early) if dead and not exits]
        for process, proc, dead in zip(self.launch.processes, self.procs, self._early):
            if dead and not exits:
                continue
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._kill(proc)
                problems.append(f"{process.program} did not {'exit' if exits else 'stop'} within "
                                f"{self.launch.stop_timeout_s:g} s: killed")
                continue
            if proc.returncode not in self.launch.clean_exits:
                problems.append(f"{process.program} {'exited' if exits else 'stopped'} with "
                                f"{status(proc.returncode)}: " + self._tail(process))
        self.stopped = Stopped(tuple(p.returncode for p in self.procs), tuple(problems))
        return self.stopped

    def kill(self) -> None:
        """SIGKILL every process (with what it forked), as a crash would: no flush."""
        self._early = [True] * len(self.procs)
        self._kill_all()
        self.stopped = Stopped(tuple(p.returncode for p in self.procs), ())

    @property
    def running(self) -> bool:
        return bool(self.procs) and self.stopped is None and any(p.poll() is None for p in self.procs)

    def _ask(self, process: Process, until: float) -> bool:
        """Run the process's stop command (until `until` at most); False when it
        has none, failed or took too long (then the stop signal goes)."""
        if not process.stop_command:
            return False
        try:
            done = subprocess.run([*self.prefix, *process.stop_command], capture_output=True,
                                  timeout=max(0.1, until - time.monotonic()))
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0

    def logs(self) -> dict[str, str]:
        """Each process's log: its last TAIL_BYTES (an exporter may flood its output)."""
        return {p.log: tail(self.log_path(p)) for p in self.launch.processes}

    def _tail(self, process: Process, chars: int = 800) -> str:
        if not self.log_path(process).exists():
            return "(no log)"
        return tail(self.log_path(process), chars).strip() or "(empty log)"

    def _kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL the session the process leads (it and whatever it forked)."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    def _kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self._kill(proc)

    def __enter__(self) -> ExporterProcesses:
        return self if self.procs else self.start()

    def __exit__(self, exc_type, *_) -> None:
        if exc_type is None:
            self.stop()
        else:
            self._kill_all()
