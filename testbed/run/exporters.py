"""An exporter of the lab running in its router: one service for every kind, ours included.

Each start runs its plan's Launch for that run (ExporterPlan.launch): processes
started in the router's namespace (a `python_main` one forked from a warm
interpreter), ready when they hold their capture sockets and, when the launch
has a control socket, once it answers; stopped with the kind's stop command or
signal (they flush). What a kind offers beyond exporting comes from its launch:
a control socket (`control` steps, flush on request, statistics while it runs,
how many records it had sent before a kill), a statistics file (how many records
each run sent), a records file (read by the report).
"""
from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from probe.live.ctl import CtlError, request

from .. import workdir as W
from ..logtail import tail
from ..collector import mnexec_prefix
from ..exporters import Launch, Process
from ..exporters.process import ExporterError, ExporterProcesses
from ..forkserver import Forked
from ..lab.node import LabError
from ..plan import ExporterPlan

CTL_TIMEOUT_S = 1.0


class Service(Protocol):
    """What the run starts and stops together (exporters, collectors)."""

    ready_timeout_s: float
    stop_timeout_s: float

    def launch(self) -> None: ...

    def wait_ready(self, deadline: float) -> None: ...


@dataclass(frozen=True)
class RunEnd:
    """How one start of an exporter ended."""

    run: int
    log: str  # the tail of what it printed (every process)
    before_stop: dict | None  # `stats` over its control socket just before it was stopped (control)
    stats: dict | None  # its statistics at exit (a stats file), None when it writes none or died
    sent: int | None  # records it sent (None: it did not say)
    failure: str | None  # why the run counts as failed (died unasked, unclean stop)


class ExporterService:
    def __init__(self, plan: ExporterPlan, lab) -> None:
        self.plan, self.lab = plan, lab
        self.node = lab.node(plan.node)
        self.runs = 0
        self.ends: list[RunEnd] = []  # how each start ended
        self._before_stop: dict | None = None
        # (unix time, timeout in s from then on): `control timeouts`, and a restart going
        # back to the file's; the checks' `by:` windows follow them (expect/timeouts.py)
        self.active_changes: list[tuple[float, float]] = []
        self.inactive_changes: list[tuple[float, float]] = []
        self.current: ExporterProcesses | None = None
        self._sent_before_kill: int | None = None
        self.launches: list[Launch] = []  # what each start ran (its argv and config files)

    # -- what it is -----------------------------------------------------------
    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def launch_now(self) -> Launch:
        """The Launch of the run that is (or was last) started."""
        return self.current.launch if self.current is not None else self.plan.launch(max(1, self.runs))

    @property
    def controls(self) -> bool:
        """Answers on a control socket (its kind's feature)."""
        return self.launch_now.control is not None

    @property
    def running(self) -> bool:
        return self.current is not None and self.current.running

    @property
    def ready_timeout_s(self) -> float:
        return self.launch_now.ready_timeout_s

    @property
    def stop_timeout_s(self) -> float:
        return self.launch_now.stop_timeout_s

    @property
    def failures(self) -> list[str]:
        return [e.failure for e in self.ends if e.failure]

    @property
    def records_sent(self) -> int | None:
        """Records it sent over all its runs; None when a run did not say."""
        sent = [e.sent for e in self.ends]
        return None if not sent or None in sent else sum(sent)

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> None:
        self.launch()
        self.wait_ready(time.monotonic() + self.ready_timeout_s)

    def launch(self) -> None:
        if self.running:
            raise LabError(f"probe {self.name} is already running")
        self.runs += 1
        now = time.time()  # a new run starts with the file's timeouts again
        for changes, value in ((self.active_changes, self.plan.probe.active_timeout),
                               (self.inactive_changes, self.plan.probe.inactive_timeout)):
            if changes:
                changes.append((now, value))
        launch = self.plan.launch(self.runs)
        self.launches.append(launch)
        prefix = mnexec_prefix(self.node)
        self.current = ExporterProcesses(launch, self.plan.spec.workdir, prefix=prefix, fork=self._fork)
        W.exporter_launch(self.plan.spec.workdir, self.name, self.runs).write_text(
            "\n".join(launch_header(self.plan, self.runs, prefix) + launch.describe()) + "\n")
        pids = self.current.launch_all()
        for pid, process in zip(pids, launch.processes):
            if not process.python_main:  # a forked one is recorded by the node
                self.lab.state.add_process(self.plan.node, pid, list(process.argv))

    def _fork(self, process: Process, log: Path):
        return self.node.fork(process.python_main, list(process.python_args), log, process.warm)

    def wait_ready(self, deadline: float) -> None:
        control = self.current.launch.control
        answers = None if control is None else (lambda: self._answers(control))
        try:
            self.current.wait_ready(deadline, answers)
        except ExporterError as exc:
            self.current.kill()
            raise LabError(f"probe {self.name} ({self.plan.kind}): {exc}") from None

    @staticmethod
    def _answers(control: str) -> bool:
        try:
            request(control, {"cmd": "stats"}, timeout=CTL_TIMEOUT_S)
            return True
        except CtlError:
            return False

    def stop(self) -> None:
        self.begin_stop()
        self.end_stop(time.monotonic() + self.stop_timeout_s)

    def begin_stop(self) -> None:
        """Its statistics as they are now (control), then the stop command or signal."""
        if self.current is None or self.current.stopped is not None:
            return
        self._before_stop = None
        if self.controls and self.running:
            try:
                self._before_stop = self.stats()
            except CtlError:
                pass
        self.current.request_stop()

    def end_stop(self, deadline: float) -> None:
        """Wait for the stop begun by begin_stop (kill at `deadline`); note how the run ended."""
        ex, self.current = self.current, None
        if ex is None:
            return
        stopped = ex.finish_stop(deadline)
        stats = _read_json(ex.launch.stats_file)
        failure = None
        if not stopped.clean:
            gone = sorted({p.server.gone for p in ex.procs if isinstance(p, Forked) and p.server.gone})
            failure = f"run {self.runs}: " + "; ".join([*stopped.problems, *gone])
        self.ends.append(RunEnd(self.runs, self._log(ex), self._before_stop, stats,
                                (stats or {}).get("records_sent"), failure))

    def kill(self) -> None:
        """SIGKILL, as a crash would: no flush, no closing statistics. Not a failure of the
        run: the lab asked for it. What it had sent is asked just before (control)."""
        if not self.running:
            raise LabError(f"probe {self.name} is not running")
        sent = None
        if self.controls:
            try:
                sent = self.stats().get("records_sent")  # a lower bound: it may send once more
            except CtlError:
                pass
        ex, self.current = self.current, None
        ex.kill()
        self.ends.append(RunEnd(self.runs, self._log(ex), None, None, sent, None))

    @staticmethod
    def _log(ex: ExporterProcesses) -> str:
        logs = {Path(p.log).name: tail(ex.log_path(p)) for p in ex.launch.processes}
        if len(logs) == 1:
            return next(iter(logs.values()))
        return "\n".join(f"== {name}\n{text}" for name, text in logs.items())

    # -- its control socket -----------------------------------------------------
    def ctl(self, words: list[str]) -> dict:
        """A control command as the operator types it: stats | show | flush | timeouts A I."""
        control = self.launch_now.control
        if control is None:
            raise CtlError(f"probe {self.name} is {self.plan.kind}: it has no control socket")
        cmd = words[0]
        req: dict = {"cmd": cmd}
        if cmd == "timeouts":
            req["active"] = float(words[1]) if len(words) > 1 and words[1] != "-" else None
            req["inactive"] = float(words[2]) if len(words) > 2 and words[2] != "-" else None
        reply = request(control, req)
        if cmd == "timeouts" and reply.get("ok"):
            for changes, value in ((self.active_changes, req["active"]),
                                   (self.inactive_changes, req["inactive"])):
                if value is not None:
                    changes.append((time.time(), value))
        return reply

    def stats(self) -> dict:
        return self.ctl(["stats"]).get("stats", {})


def launch_header(plan: ExporterPlan, run: int, prefix: list[str]) -> list[str]:
    """The first lines of a run's launch file: which exporter, how it was asked to run."""
    s = plan.spec
    out = [f"# exporter {plan.name}: {plan.kind}, NetFlow version {s.version}, on {plan.node} "
           f"(run {run}, started {time.strftime('%Y-%m-%d %H:%M:%S')})",
           f"# in the router's namespaces: {shlex.join(prefix)} COMMAND"]
    if s.options is not None and s.options.shown():
        out.append(f"# options: {s.options.shown()}")
    return out


def _read_json(path: str | None) -> dict | None:
    if path is None:
        return None
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None  # it died before writing them
