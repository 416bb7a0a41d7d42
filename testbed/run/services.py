"""The processes a run starts inside lab nodes: reference collectors and probes.

Each service is launched first and waited for after (`start_all`): many
probes and collectors start together, so a lab of 50 probes costs about one
probe's start-up time, not 50.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from probe.live.ctl import CtlError, request
from probe.stats import parse_summary

from ..collector import CollectorResult, mnexec_prefix
from ..collector.process import CollectorProcess
from ..lab.node import LabError

PROBE_MAIN = "probe.cli:main"
PROBE_WARM = ("probe.live.daemon", "pyroute2")  # what live mode imports after start
READY_TIMEOUT_S = 15.0
POLL_S = 0.02


STOP_TIMEOUT_S = 20.0


def stop_all(probes: list) -> None:
    """Ask every probe to stop, then wait for all (they flush at the same time)."""
    for p in probes:
        p.begin_stop()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for p in probes:
        p.end_stop(deadline)


def start_all(services: list, timeout: float = READY_TIMEOUT_S) -> None:
    """Launch every service, then wait until all are ready (one shared deadline)."""
    for s in services:
        s.launch()
    deadline = time.monotonic() + timeout
    for s in services:
        s.wait_ready(deadline)


class CollectorService:
    def __init__(self, lab, spec, workdir: Path) -> None:
        self.lab, self.spec = lab, spec
        self.jsonl = workdir / f"collector-{spec.name}.jsonl"
        self.proc = CollectorProcess(f"{spec.address}:{spec.port}", self.jsonl,
                                     prefix=mnexec_prefix(lab.node(spec.node)), python=sys.executable)
        self.result: CollectorResult | None = None

    def start(self) -> None:
        start_all([self])

    def launch(self) -> None:
        self.proc.launch()
        self.lab.state.add_process(self.spec.node, self.proc.pid, ["testbed", "collect", str(self.spec)])

    def wait_ready(self, deadline: float) -> None:
        self.proc.wait_ready(deadline)

    def stop(self) -> CollectorResult:
        if self.result is None:
            self.result = self.proc.stop()
        return self.result


class ProbeService:
    """One `python -m probe` in a router's namespace, with its control socket."""

    def __init__(self, lab, spec, workdir: Path, extra_args: tuple[str, ...] = ()) -> None:
        self.lab, self.spec, self.workdir = lab, spec, workdir
        self.extra = tuple(extra_args)
        self.control = str(workdir / f"probe-{spec.name}.ctl")
        self.proc: subprocess.Popen | None = None
        self.runs = 0
        self.final_stats: list[str] = []  # what each run printed when it stopped
        self.failures: list[str] = []  # runs that crashed or did not exit 0
        self.stats_at_stop: list[dict] = []  # `stats` of each run, asked just before it stopped
        self._died = False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        start_all([self])

    def launch(self) -> None:
        if self.running:
            raise LabError(f"probe {self.spec.name} is already running")
        self.runs += 1
        argv = [*self.spec.argv(), *self.extra, "--control", self.control]
        log = self.workdir / f"probe-{self.spec.name}.{self.runs}.log"
        # `python -m probe ARGV` in the router, forked from a warm interpreter
        self.proc = self.lab.node(self.spec.node).fork(PROBE_MAIN, argv, log, PROBE_WARM)

    def wait_ready(self, deadline: float) -> None:
        """Until the control socket answers; LabError with the probe's output if it exits first."""
        log = self.proc.log_path
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LabError(f"probe {self.spec.name} exited at start ({self.proc.returncode}): "
                               + log.read_text(errors="replace").strip()[-800:])
            try:
                request(self.control, {"cmd": "stats"}, timeout=1.0)
                return
            except CtlError:
                time.sleep(POLL_S)
        raise LabError(f"probe {self.spec.name} did not answer on {self.control} "
                       f"within {READY_TIMEOUT_S:.0f} s")

    def stop(self) -> int | None:
        """SIGTERM: the probe expires every flow, sends it and exits 0."""
        self.begin_stop()
        return self.end_stop(time.monotonic() + STOP_TIMEOUT_S)

    def begin_stop(self) -> None:
        """Its statistics as they are now, then SIGTERM (unless it already died)."""
        self._died = self.proc is not None and self.proc.poll() is not None  # before anyone asked
        if self.proc is None or self._died:
            return
        try:
            self.stats_at_stop.append(self.stats())
        except CtlError:
            pass
        self.proc.send_signal(signal.SIGTERM)

    def end_stop(self, deadline: float) -> int | None:
        """Wait for the exit begun by begin_stop (kill at `deadline`); note a failed run."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log = proc.log_path.read_text(errors="replace")
        self.final_stats.append(log)
        if self._died or proc.returncode != 0:
            how = "died before it was stopped" if self._died else "did not stop cleanly"
            last = log.strip().splitlines()[-1:] or ["(no output)"]
            self.failures.append(f"run {self.runs} {how}: exit status {proc.returncode}: {last[0]}")
        return proc.returncode

    @property
    def records_sent(self) -> int | None:
        """Records the probe handed to its sender over all its runs (from each
        run's closing statistics); None when a run printed none."""
        counts = [parse_summary(log).get("records_sent") for log in self.final_stats]
        if not counts or None in counts:
            return None
        return sum(counts)

    def ctl(self, words: list[str]) -> dict:
        """A control command as the operator types it: stats | show | flush | timeouts A I."""
        cmd = words[0]
        req: dict = {"cmd": cmd}
        if cmd == "timeouts":
            req["active"] = float(words[1]) if len(words) > 1 and words[1] != "-" else None
            req["inactive"] = float(words[2]) if len(words) > 2 and words[2] != "-" else None
        return request(self.control, req)

    def stats(self) -> dict:
        return self.ctl(["stats"]).get("stats", {})
