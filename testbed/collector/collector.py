"""The in-process collector: datagram bytes in, decoded and judged records out.

Pure (sans-IO): the live socket loop, load-time replays and the tests all
feed `receive(data, source, recv_ms)`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from testbed.collector.checks import CheckConfig, header_findings
from testbed.collector.model import FIRST, RESET, DatagramInfo, FlowRecord, Malformed
from testbed.collector.records import build_records
from testbed.collector.result import CollectorResult, Summary
from testbed.collector.sequence import ExporterKey, SequenceTracker
from testbed.collector.v5 import Rejected, decode


DECODES = (5,)  # the NetFlow versions this collector decodes and judges


@dataclass(frozen=True, slots=True)
class Received:
    """What one datagram produced: either (datagram, records) or malformed."""

    datagram: DatagramInfo | None
    records: tuple[FlowRecord, ...]
    malformed: Malformed | None


def split_source(source: tuple[str, int] | str) -> tuple[str, int]:
    """(ip, port) from a socket address or "ip[:port]"."""
    if isinstance(source, str):
        ip, _, port = source.partition(":")
        return ip, int(port or 0)
    return str(source[0]), int(source[1])


class Collector:
    def __init__(self, config: CheckConfig = CheckConfig(), keep: bool = True):
        self.config = config
        self.keep = keep  # False: count only (a long live run writes JSONL instead)
        self.records: list[FlowRecord] = []
        self.datagrams: list[DatagramInfo] = []
        self.malformed: list[Malformed] = []
        self.n_datagrams = self.n_records = 0
        self.malformed_counts: Counter[str] = Counter()
        self.finding_counts: Counter[str] = Counter()
        self._seq = SequenceTracker()
        self._boot: dict[ExporterKey, int] = {}  # exporter's boot time at its first datagram

    def receive(self, data: bytes, source: tuple[str, int] | str, recv_ms: int) -> Received:
        exporter, port = split_source(source)
        try:
            decoded = decode(data)
            if isinstance(decoded, Rejected):
                return self._reject(decoded.reason, decoded.detail, data, exporter, port, recv_ms)
            return self._accept(*decoded, exporter, port, recv_ms)
        except Exception as exc:  # noqa: BLE001 - the referee outlives its own bugs; fuzz tests keep this at 0
            return self._reject("collector-bug", repr(exc), data, exporter, port, recv_ms)

    def _accept(self, header, raws, exporter, port, recv_ms) -> Received:
        event = self._seq.observe(exporter, header)
        key = ExporterKey(exporter, header.engine_type, header.engine_id)
        if event.status in (FIRST, RESET):
            self._boot[key] = header.export_ms - header.sys_uptime
        found = header_findings(header, recv_ms, self._boot[key], self.config)
        info = DatagramInfo(exporter, port, recv_ms, header, event.status, event.missing,
                            event.filled, event.reason, found)
        records = build_records(header, raws, exporter, recv_ms, event.status)
        self.n_datagrams += 1
        self.n_records += len(records)
        self.finding_counts.update(f.code for f in found)
        for r in records:
            if r.findings:
                self.finding_counts.update(f.code for f in r.findings)
        if self.keep:
            self.datagrams.append(info)
            self.records.extend(records)
        return Received(info, records, None)

    def _reject(self, reason, detail, data, exporter, port, recv_ms) -> Received:
        bad = Malformed(reason, detail, bytes(data), exporter, port, recv_ms)
        self.malformed_counts[reason] += 1
        if self.keep:
            self.malformed.append(bad)
        return Received(None, (), bad)

    def summary(self) -> Summary:
        return Summary(self.n_datagrams, self.n_records, dict(self.malformed_counts),
                       dict(self.finding_counts), tuple(self._seq.reports()))

    def result(self) -> CollectorResult:
        return CollectorResult(list(self.records), list(self.datagrams), list(self.malformed), self.summary())
