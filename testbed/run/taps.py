"""Export taps in a run: a relay on a probe's export path, where faults are injected.

The plan puts one on each (probe, collector) path a fault step touches
(`Step.taps`) and points the probe at it instead of the collector, so every
datagram of the probe passes through it and its log is the whole truth. A run
starts the taps before the probes; impairment policies go to a tap as JSON
lines; its log is read after it stops.
"""
from __future__ import annotations

import json
import subprocess
import sys

from ..lab.node import LabError
from ..plan import TapPlan

STOP_TIMEOUT_S = 10.0


class TapService:
    def __init__(self, plan: TapPlan, lab) -> None:
        self.plan = plan
        self.node = lab.node(plan.node)
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        (host, port), (to, to_port) = self.plan.listen, self.plan.to
        argv = [sys.executable, "-m", "testbed.faults.tap", "--listen", f"{host}:{port}",
                "--to", f"{to}:{to_port}", "--log", str(self.plan.log)]
        self.proc = self.node.popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise LabError(f"the export tap of {self.plan.probe} on {self.plan.node} did not start "
                           f"(listening on {host}:{port})")

    def set_policy(self, policy: dict) -> None:
        self.proc.stdin.write(json.dumps(policy) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().strip()
        if reply != "ok":
            raise LabError(f"the export tap of {self.plan.probe} refused {policy}: {reply or 'it exited'}")

    def stop(self) -> None:
        """After the probes stopped: it sends what it still holds, then exits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()  # the end of its policies: it sends what it holds and exits
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def entries(self) -> list[dict]:
        if not self.plan.log.exists():
            return []
        return [json.loads(line) for line in self.plan.log.read_text().splitlines() if line.strip()]
