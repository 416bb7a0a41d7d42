"""Starting and stopping what a run runs in lab nodes together, and its reference collectors.

Each service is launched first and waited for after (`start_all`): many
exporters (or collectors) start together, so a lab of 50 probes costs about
one probe's start-up time, not 50. The collectors start before the exporters
(startup.py). Exporters are one service for every kind
(exporters.py).
"""
from __future__ import annotations

import sys
import time

from ..collector import CollectorResult, load_jsonl, mnexec_prefix
from ..collector.process import CollectorProcess
from ..collector.result import merge_runs
from ..lab.node import LabError
from ..plan import CollectorPlan

READY_TIMEOUT_S = 15.0


def stop_all(probes: list) -> None:
    """Ask every exporter to stop, then wait for all (they flush at the same time)."""
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

    def __init__(self, plan: CollectorPlan, lab) -> None:
        self.plan, self.lab, self.spec = plan, lab, plan.collector
        self.runs: list[CollectorProcess] = []
        self.outages: list[list] = []  # [down_at, up_at or None], unix seconds, planned ones
        self.result: CollectorResult | None = None
        self.failure: str | None = None  # it died unasked, or did not stop cleanly
        self._noticed: str | None = None  # when the run first saw it dead

    @property
    def files(self) -> list[Path]:
        """The JSON lines of each start so far."""
        return [p.jsonl for p in self.runs]

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
        self.runs.append(CollectorProcess(f"{self.spec.address}:{self.spec.port}", self.plan.jsonl(len(self.runs) + 1),
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
