"""The processes a run starts inside lab nodes: reference collectors and probes.

Each service is launched first and waited for after (`start_all`): many
probes and collectors start together, so a lab of 50 probes costs about one
probe's start-up time, not 50.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from probe.live.ctl import CtlError, request

from ..collector import CollectorResult, load_jsonl, mnexec_prefix
from ..collector.process import CollectorProcess
from ..collector.result import merge_runs
from ..exporters import netflow_lab
from ..topology.probekind import exporter_spec
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
    start = time.monotonic()
    for p in probes:  # each its own timeout (an exporter kind may set its own)
        p.end_stop(start + p.stop_timeout_s)


def start_all(services: list) -> None:
    """Launch every service, then wait until all are ready (from one start,
    each by its own `ready_timeout_s`: an exporter kind's Launch says its own)."""
    for s in services:
        s.launch()
    start = time.monotonic()
    for s in services:
        s.wait_ready(start + s.ready_timeout_s)


class CollectorService:
    """A reference collector in its node; a `collector` step may stop, kill and start
    it again: each run writes its own JSON lines, and `outages` says when it was down."""

    ready_timeout_s = READY_TIMEOUT_S

    def __init__(self, lab, spec, workdir: Path) -> None:
        self.lab, self.spec, self.workdir = lab, spec, workdir
        self.runs: list[CollectorProcess] = []
        self.outages: list[list] = []  # [down_at, up_at or None], unix seconds, planned ones
        self.result: CollectorResult | None = None
        self.failure: str | None = None  # it died unasked, or did not stop cleanly
        self._noticed: str | None = None  # when the run first saw it dead

    @property
    def jsonl(self) -> Path:
        return self.files[-1] if self.runs else self._file(1)

    @property
    def files(self) -> list[Path]:
        return [p.jsonl for p in self.runs]

    def _file(self, n: int) -> Path:
        return self.workdir / f"collector-{self.spec.name}{'' if n == 1 else f'.{n}'}.jsonl"

    @property
    def proc(self) -> CollectorProcess | None:
        return self.runs[-1] if self.runs else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.proc.poll() is None

    def start(self) -> None:
        start_all([self])

    def launch(self) -> None:
        if self.running:
            raise LabError(f"collector {self.spec.name} is already running")
        self.runs.append(CollectorProcess(f"{self.spec.address}:{self.spec.port}", self._file(len(self.runs) + 1),
                                          prefix=mnexec_prefix(self.lab.node(self.spec.node)),
                                          python=sys.executable))
        self.proc.launch()
        self.lab.state.add_process(self.spec.node, self.proc.pid, ["testbed", "collect", str(self.spec)])

    def wait_ready(self, deadline: float) -> None:
        self.proc.wait_ready(deadline)
        if self.outages and self.outages[-1][1] is None:
            self.outages[-1][1] = time.time()

    def stop_run(self) -> None:
        """A planned stop (SIGTERM: it drains its socket and writes its summary)."""
        if not self.running:
            raise LabError(f"collector {self.spec.name} is not running")
        self.outages.append([time.time(), None])
        self.proc.stop()

    def kill(self) -> None:
        """A planned crash (SIGKILL): what it wrote so far stays."""
        if not self.running:
            raise LabError(f"collector {self.spec.name} is not running")
        self.outages.append([time.time(), None])
        self.proc.proc.kill()
        self.proc.proc.wait()

    def watch(self, when: str) -> None:
        """Note the first moment the run sees it dead unasked (`when`: e.g. after which step)."""
        down = self.outages and self.outages[-1][1] is None
        if self._noticed is None and not down and self.proc is not None and not self.running:
            self._noticed = f"{time.strftime('%H:%M:%S')} ({when})"

    def stop(self) -> CollectorResult | None:
        """The end of the run: stop it and return what every run of it received; a
        collector that died unasked keeps what it wrote (the checks judge that) and
        its failure says when it was seen dead."""
        if self.result is not None or not self.runs:
            return self.result
        self.watch("when the run stopped it")
        if self.running:
            try:
                self.proc.stop()
            except RuntimeError:
                self.failure = f"collector {self.spec.name} did not stop cleanly (exit {self.proc.proc.returncode})"
        elif self._noticed is not None:
            self.failure = (f"collector {self.spec.name} died (exit {self.proc.proc.returncode}) before the "
                            f"run stopped it; first seen dead at {self._noticed}")
        runs = [load_jsonl(f) for f in self.files if f.exists()]
        self.result = merge_runs(runs) if runs else None
        if self.failure and self.result is not None and self.result.records:
            last = max(r.recv_ms for r in self.result.records) / 1000
            self.failure += f"; its last record arrived at {time.strftime('%H:%M:%S', time.localtime(last))}"
        return self.result


class ProbeService:
    """One `python -m probe` in a router's namespace, with its control socket."""

    controls = True  # answers `control` steps and flush requests

    def __init__(self, lab, spec, workdir: Path, extra_args: tuple[str, ...] = ()) -> None:
        self.lab, self.spec, self.workdir = lab, spec, workdir
        self.claims = netflow_lab.claims(exporter_spec(spec, (), workdir))
        self.engine = (spec.engine_type, spec.engine_id)  # what its datagrams carry
        self.extra = tuple(extra_args)
        self.control = str(workdir / f"probe-{spec.name}.ctl")
        self.proc: subprocess.Popen | None = None
        self.runs = 0
        self.commands: list[tuple[str, ...]] = []  # the argv of every process it started, in order
        self.configs: dict[str, str] = {}  # config files it wrote: name -> text (ours: none)
        self.final_stats: list[str] = []  # what each run printed (its log), when it stopped
        self.final: list[dict | None] = []  # each run's statistics at exit (--stats-file JSON)
        self.failures: list[str] = []  # runs that crashed or did not exit 0
        self.stats_at_stop: list[dict] = []  # `stats` of each run, asked just before it stopped
        self.sent: list[int | None] = []  # records each run sent (None: it did not say)
        # (unix time, timeout in s from then on): `control timeouts`, and a restart going
        # back to the file's; the checks' `by:` windows follow them (expect/timeouts.py)
        self.active_changes: list[tuple[float, float]] = []
        self.inactive_changes: list[tuple[float, float]] = []
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
        now = time.time()  # a new run starts with the file's timeouts again
        for changes, value in ((self.active_changes, self.spec.active_timeout),
                               (self.inactive_changes, self.spec.inactive_timeout)):
            if changes:
                changes.append((now, value))
        log = self.workdir / f"probe-{self.spec.name}.{self.runs}.log"
        argv = [*self.spec.argv(), *self.extra, "--control", self.control,
                "--stats-file", str(self._stats_file(self.runs)),
                "--records-file", str(log.with_suffix(".records.jsonl"))]  # for the report
        # `python -m probe ARGV` in the router, forked from a warm interpreter
        self.proc = self.lab.node(self.spec.node).fork(PROBE_MAIN, argv, log, PROBE_WARM)
        self.commands.append(("python", "-m", "probe", *map(str, argv)))

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
                       f"within {self.ready_timeout_s:.0f} s")

    ready_timeout_s = READY_TIMEOUT_S
    stop_timeout_s = STOP_TIMEOUT_S

    def stop(self) -> int | None:
        """SIGTERM: the probe expires every flow, sends it and exits 0."""
        self.begin_stop()
        return self.end_stop(time.monotonic() + self.stop_timeout_s)

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
        self.final.append(self._read_stats(self.runs))
        self.sent.append((self.final[-1] or {}).get("records_sent"))
        if self._died or proc.returncode != 0:
            how = "died before it was stopped" if self._died else "did not stop cleanly"
            last = log.strip().splitlines()[-1:] or ["(no output)"]
            self.failures.append(f"run {self.runs} {how}: exit status {proc.returncode}: {last[0]}")
        return proc.returncode

    def kill(self) -> None:
        """SIGKILL, as a crash would: no flush, no closing statistics. Not a failure
        of the run: the lab asked for it. What it had sent is read just before."""
        if not self.running:
            raise LabError(f"probe {self.spec.name} is not running")
        try:
            sent = self.stats().get("records_sent")  # a lower bound: it may send once more
        except CtlError:
            sent = None
        proc, self.proc = self.proc, None
        proc.kill()
        proc.wait()
        self.final_stats.append(proc.log_path.read_text(errors="replace"))
        self.final.append(None)  # killed: it wrote no statistics
        self.sent.append(sent)

    def _stats_file(self, run: int) -> Path:
        return self.workdir / f"probe-{self.spec.name}.{run}.stats.json"

    def _read_stats(self, run: int) -> dict | None:
        try:
            return json.loads(self._stats_file(run).read_text())
        except (OSError, ValueError):
            return None  # it died before writing them

    @property
    def records_sent(self) -> int | None:
        """Records the probe handed to its sender over all its runs (from each
        run's closing statistics); None when a run did not say."""
        if not self.sent or None in self.sent:
            return None
        return sum(self.sent)

    def ctl(self, words: list[str]) -> dict:
        """A control command as the operator types it: stats | show | flush | timeouts A I."""
        cmd = words[0]
        req: dict = {"cmd": cmd}
        if cmd == "timeouts":
            req["active"] = float(words[1]) if len(words) > 1 and words[1] != "-" else None
            req["inactive"] = float(words[2]) if len(words) > 2 and words[2] != "-" else None
        reply = request(self.control, req)
        if cmd == "timeouts" and reply.get("ok"):
            for changes, value in ((self.active_changes, req["active"]),
                                   (self.inactive_changes, req["inactive"])):
                if value is not None:
                    changes.append((time.time(), value))
        return reply

    def stats(self) -> dict:
        return self.ctl(["stats"]).get("stats", {})
