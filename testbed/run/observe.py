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

from ..collector import live
from ..collector.load import JsonlReader
from ..collector.nfcapd import udp_socket
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
                stats = x.stats()
                targets.append((self.plan.exporters[name], stats.get("records_sent", 0), stats.get("datagrams_sent", 0)))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            results = self.results()
            if all(self._received(e, records, datagrams, results) for e, records, datagrams in targets):
                return
            time.sleep(POLL_S)
        self.say("        (not every flushed record reached a collector in time)")

    def settle(self, timeout: float = SETTLE_S) -> bool:
        """Until every running reference collector has read all its socket holds and written
        it: no unread bytes, then its JSON lines unchanged for longer than it waits before
        writing them out (its receive timeout, live.POLL_S). False when `timeout` passed."""
        deadline = time.monotonic() + timeout
        quiet_s = live.POLL_S + 2 * POLL_S
        sizes, since = None, time.monotonic()
        while time.monotonic() < deadline:
            running = [c for c in self.running.collectors.values() if c.running]
            unread = [udp_socket(c.proc.pid, c.spec.port) for c in running]
            now = [c.files[-1].stat().st_size if c.files[-1].exists() else 0 for c in running]
            if any(u is None or u[0] for u in unread) or now != sizes:
                sizes, since = now, time.monotonic()
            elif time.monotonic() - since > quiet_s:
                return True
            time.sleep(POLL_S)
        return False

    def _received(self, e: ExporterPlan, records: int, datagrams: int, results: dict) -> bool:
        """Has a collector of exporter `e` got the datagram that ends the `records` records
        it sent (v5 counts records), the last of its `datagrams` (v9 counts datagrams from 0)?"""
        if records == 0 or not any(c in self.running.collectors for c in (x.collector for x in e.probe.export)):
            return True
        for x in e.probe.export:
            if x.collector not in results:
                continue
            stream = e.engine[0] << 8 | e.engine[1]  # v5's engine; our v9's source id is the same
            got = [d.header for d in results[x.collector].datagrams
                   if d.exporter in e.addresses and d.header.domain == stream]
            if got and (got[-1].flow_sequence + got[-1].count >= records if got[-1].version == 5
                        else got[-1].flow_sequence + 1 >= datagrams):
                return True
        return False

