"""What the collectors have received while a run goes on, and whose it is.

One incremental reader per collector's JSON lines; `results()` is what each
holds now. A check judges one probe's records: those of the probe's first
reference collector, narrowed to that probe's datagrams when other probes
export there too. `flush()` asks the running probes to export their caches
and waits until the collectors have what they sent.
"""
from __future__ import annotations

import time
from pathlib import Path

from ..collector.load import JsonlReader
from ..collector.result import CollectorResult, merge_runs

SETTLE_S = 5.0  # at most this long for flushed records to reach the collectors
POLL_S = 0.05


class Observer:
    def __init__(self, topology, collectors: dict, probes: dict, say=print) -> None:
        self.topo, self.collectors, self.probes, self.say = topology, collectors, probes, say
        self._readers: dict[Path, JsonlReader] = {}  # one per file: a collector run
        self.final: dict[str, CollectorResult] | None = None  # once the collectors stopped

    def results(self) -> dict[str, CollectorResult]:
        if self.final is not None:
            return self.final
        out = {}
        for name, c in self.collectors.items():
            runs = []
            for path in c.files:
                reader = self._readers.setdefault(path, JsonlReader(path))
                if path.exists():
                    runs.append(reader.poll())
            if runs:
                out[name] = merge_runs(runs)
        return out

    def exporter_addresses(self, spec) -> set[str]:
        return {str(a.ip) for a in self.topo.nodes[spec.node].addresses}

    def collector_of(self, probe: str | None, results: dict) -> str | None:
        """The reference collector whose records judge `probe`: its first one."""
        p = self.probes.get(probe or "") or next(iter(self.probes.values()), None)
        if p is None:
            return next(iter(results), None)
        return next((e.collector for e in p.spec.export if e.collector in results), None)

    def of_probe(self, probe: str | None, results: dict | None = None) -> CollectorResult | None:
        """What the checks of `probe` look at (None: it exports to no reference collector)."""
        results = self.results() if results is None else results
        name = self.collector_of(probe, results)
        if name is None:
            return None
        p = self.probes.get(probe or "") or next(iter(self.probes.values()), None)
        if p is None:
            return results[name]
        shared = [q for q in self.probes.values() if q is not p
                  and any(e.collector == name for e in q.spec.export)]
        return results[name].only(self.exporter_addresses(p.spec), *p.engine) if shared else results[name]

    def flush(self, timeout: float = SETTLE_S) -> None:
        """`flush` on every running probe, then wait for the collectors to have it."""
        targets = []
        for p in self.probes.values():
            if p.running and p.controls:  # other kinds cannot be asked: what they sent so far counts
                p.ctl(["flush"])
                targets.append((p.spec, p.stats().get("records_sent", 0)))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            results = self.results()
            if all(self._received(spec, sent, results) for spec, sent in targets):
                return
            time.sleep(POLL_S)
        self.say("        (not every flushed record reached a collector in time)")

    def _received(self, spec, sent: int, results: dict) -> bool:
        """Has a collector of probe `spec` got the datagram that ends its `sent` records?"""
        if sent == 0 or not any(e.collector in self.collectors for e in spec.export):
            return True
        mine = self.exporter_addresses(spec)
        for e in spec.export:
            if e.collector not in results:
                continue
            got = [d for d in results[e.collector].datagrams
                   if d.exporter in mine and (d.header.engine_type, d.header.engine_id)
                   == (spec.engine_type, spec.engine_id)]
            if got and got[-1].header.flow_sequence + got[-1].header.count >= sent:
                return True
        return False
