"""The processes a run starts inside lab nodes: reference collectors and probes."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from probe.live.ctl import CtlError, request

from ..collector import CollectorResult, mnexec_prefix, start_collector
from ..lab.node import LabError

READY_TIMEOUT_S = 15.0


class CollectorService:
    def __init__(self, lab, spec, workdir: Path) -> None:
        self.spec = spec
        self.jsonl = workdir / f"collector-{spec.name}.jsonl"
        node = lab.node(spec.node)
        self.proc = start_collector(f"{spec.address}:{spec.port}", self.jsonl,
                                    prefix=mnexec_prefix(node), python=sys.executable)
        lab.state.add_process(spec.node, self.proc.pid, ["testbed", "collect", str(spec)])
        self.result: CollectorResult | None = None

    def stop(self) -> CollectorResult:
        if self.result is None:
            self.result = self.proc.stop()
        return self.result


class ProbeService:
    """One `python -m probe` in a router's namespace, with its control socket."""

    def __init__(self, lab, spec, workdir: Path) -> None:
        self.lab, self.spec, self.workdir = lab, spec, workdir
        self.control = str(workdir / f"probe-{spec.name}.ctl")
        self.proc: subprocess.Popen | None = None
        self.runs = 0
        self.final_stats: list[str] = []  # what each run printed when it stopped
        self.stats_at_stop: list[dict] = []  # `stats` of each run, asked just before it stopped

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.running:
            raise LabError(f"probe {self.spec.name} is already running")
        self.runs += 1
        argv = [sys.executable, "-m", "probe", *self.spec.argv(), "--control", self.control]
        log = self.workdir / f"probe-{self.spec.name}.{self.runs}.log"
        with open(log, "wb") as out:
            self.proc = self.lab.node(self.spec.node).popen(argv, stdout=out, stderr=subprocess.STDOUT)
        self.proc.log_path = log
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LabError(f"probe {self.spec.name} exited at start ({self.proc.returncode}): "
                               + log.read_text(errors="replace").strip()[-800:])
            try:
                request(self.control, {"cmd": "stats"}, timeout=1.0)
                return
            except CtlError:
                time.sleep(0.05)
        raise LabError(f"probe {self.spec.name} did not answer on {self.control} "
                       f"within {READY_TIMEOUT_S:.0f} s")

    def stop(self) -> int | None:
        """SIGTERM: the probe expires every flow, sends it and exits 0."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.stats_at_stop.append(self.stats())
            except CtlError:
                pass
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.final_stats.append(proc.log_path.read_text(errors="replace"))
        return proc.returncode

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
