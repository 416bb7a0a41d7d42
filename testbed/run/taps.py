"""Export taps in a run: a relay on a probe's export path, where faults are injected.

A run starts one for each (probe, collector) that a fault step touches
(`Step.taps`), before the probes start, and points the probe at it instead of
the collector (`export()`), so every datagram of the probe passes through it
and its log is the whole truth. Impairment policies go to it as JSON lines;
its log (`impair-<probe>[-<collector>].jsonl` in the lab's workdir) is read
after it stops.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ipaddress import IPv4Address

from ..lab.node import LabError
from ..topology import Export

BASE_PORT = 47000  # the tap listens on the router's own address, BASE_PORT + n


class TapService:
    def __init__(self, lab, probe, collector, workdir: Path, n: int, only_one: bool) -> None:
        self.lab, self.probe, self.collector = lab, probe, collector
        self.node = lab.node(probe.node)
        self.log = workdir / (f"impair-{probe.name}.jsonl" if only_one
                              else f"impair-{probe.name}-{collector.name}.jsonl")
        self.port = BASE_PORT + n
        self.source: str | None = None  # the router's address towards the collector
        self.proc: subprocess.Popen | None = None

    def export(self) -> Export:
        """Where the probe sends instead of the collector (the collector's name kept)."""
        return Export(IPv4Address(self.source), self.port, self.collector.name)

    def start(self) -> None:
        to = str(self.collector.address)
        route = json.loads(self.node.run(["ip", "-j", "route", "get", to]).stdout)[0]
        self.source = route.get("prefsrc")
        if self.source is None:
            raise LabError(f"{self.probe.node} has no source address towards {to}")
        argv = [sys.executable, "-m", "testbed.faults.tap", "--listen", f"{self.source}:{self.port}",
                "--to", f"{to}:{self.collector.port}", "--log", str(self.log)]
        self.proc = self.node.popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise LabError(f"the export tap of {self.probe.name} on {self.probe.node} did not start")

    def set_policy(self, policy: dict) -> None:
        self.proc.stdin.write(json.dumps(policy) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().strip()
        if reply != "ok":
            raise LabError(f"the export tap of {self.probe.name} refused {policy}: {reply or 'it exited'}")

    def stop(self) -> None:
        """After the probes stopped: it sends what it still holds, then the divert goes."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()  # the end of its policies: it sends what it holds and exits
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def entries(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]
