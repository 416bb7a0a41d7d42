"""What the collectors have received while a run goes on, and whose it is.

One incremental reader per collector's JSON lines; `results()` is what each
holds now. A check judges one exporter's records: those of the reference
collector its plan names, narrowed to its own datagrams - always to its
router's addresses (NetFlow replayed from a capture, or anything else that
reaches the collector, is a foreign exporter: never counted for or against a
probe), and to its engine when other exporters send there too. `flush()` asks
the running exporters that can be asked to export their caches and waits until
the collectors have what they sent.
"""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from ..collector.load import JsonlReader
from ..collector.result import CollectorResult, merge_runs
from ..plan import ExporterPlan, RunPlan
from .running import Running

SETTLE_S = 5.0  # at most this long for flushed records to reach the collectors
POLL_S = 0.05


class Observer:
    def __init__(self, plan: RunPlan, running: Running, say=print) -> None:
        self.plan, self.running, self.say = plan, running, say
        self._readers: dict[Path, JsonlReader] = {}  # one per file: a collector run
        self.final: dict[str, CollectorResult] | None = None  # once the collectors stopped

    def results(self) -> dict[str, CollectorResult]:
        if self.final is not None:
            return self.final
        out = {}
        for name, c in self.running.collectors.items():
            runs = []
            for path in c.files:
                reader = self._readers.setdefault(path, JsonlReader(path))
                if path.exists():
                    runs.append(reader.poll())
            if runs:
                out[name] = merge_runs(runs)
        return out

    def of_probe(self, probe: str, results: dict | None = None) -> CollectorResult | None:
        """What the checks of `probe` look at (None: its collector has received nothing,
        or it exports to no reference collector)."""
        results = self.results() if results is None else results
        e = self.plan.exporters[probe]
        if e.collector not in results:
            return None
        return results[e.collector].only(set(e.addresses), *(() if e.alone else e.engine))

    def foreign(self, results: dict | None = None) -> dict[str, dict[str, tuple[int, int]]]:
        """Per collector, the exporters it heard that the lab did not start:
        address -> (datagrams, records)."""
        results = self.results() if results is None else results
        ours = {a for e in self.plan.exporters.values() for a in e.addresses}
        out: dict[str, dict[str, tuple[int, int]]] = {}
        for name, res in results.items():
            datagrams = Counter(d.exporter for d in res.datagrams if d.exporter not in ours)
            records = Counter(r.exporter for r in res.records if r.exporter not in ours)
            if datagrams:
                out[name] = {a: (n, records[a]) for a, n in sorted(datagrams.items())}
        return out

    def flush(self, timeout: float = SETTLE_S) -> None:
        """`flush` on every running exporter with a control socket, then wait for the
        collectors to have it (other kinds cannot be asked: what they sent so far counts)."""
        targets = []
        for name, x in self.running.exporters.items():
            if x.running and x.controls:
                x.ctl(["flush"])
                targets.append((self.plan.exporters[name], x.stats().get("records_sent", 0)))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            results = self.results()
            if all(self._received(e, sent, results) for e, sent in targets):
                return
            time.sleep(POLL_S)
        self.say("        (not every flushed record reached a collector in time)")

    def _received(self, e: ExporterPlan, sent: int, results: dict) -> bool:
        """Has a collector of exporter `e` got the datagram that ends its `sent` records?"""
        if sent == 0 or not any(c in self.running.collectors for c in (x.collector for x in e.probe.export)):
            return True
        for x in e.probe.export:
            if x.collector not in results:
                continue
            got = [d for d in results[x.collector].datagrams
                   if d.exporter in e.addresses and (d.header.engine_type, d.header.engine_id) == e.engine]
            if got and got[-1].header.flow_sequence + got[-1].header.count >= sent:
                return True
        return False
