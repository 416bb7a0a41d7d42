"""What a collector run produced, with the queries the testbed's checks ask.

`find(**where)` matches FlowRecord fields: a value to compare, or a callable
predicate, e.g. `result.find(dst="10.0.2.1", proto=17, output=3)` or
`result.find(src_mask=lambda m: m != 24)`. Records of duplicate datagrams are
left out of queries and totals unless asked (the sequence report counts them).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable, NamedTuple

from testbed.collector.model import DUPLICATE, DatagramInfo, FiveTuple, FlowRecord, Malformed
from testbed.collector.sequence import ExporterReport, SequenceTracker

_RECORD_FIELDS = frozenset(f.name for f in fields(FlowRecord))


@dataclass(frozen=True, slots=True)
class Summary:
    datagrams: int  # valid ones, duplicates included
    records: int
    malformed: dict[str, int]  # reason -> datagrams
    findings: dict[str, int]  # code -> occurrences
    sequence: tuple[ExporterReport, ...]

    @property
    def malformed_total(self) -> int:
        return sum(self.malformed.values())

    @property
    def records_lost(self) -> int:
        return sum(r.records_lost for r in self.sequence)


@dataclass(frozen=True, slots=True)
class Totals:
    records: int = 0
    packets: int = 0
    octets: int = 0
    start_ms: int | None = None  # earliest flow start
    end_ms: int | None = None  # latest flow end

    def add(self, r: FlowRecord) -> Totals:
        return Totals(self.records + 1, self.packets + r.packets, self.octets + r.octets,
                      r.start_ms if self.start_ms is None else min(self.start_ms, r.start_ms),
                      r.end_ms if self.end_ms is None else max(self.end_ms, r.end_ms))


class FindingAt(NamedTuple):
    code: str
    detail: str
    exporter: str
    recv_ms: int
    flow_sequence: int
    record: FlowRecord | None  # None: a finding about the datagram header


def tallies(records, datagrams, malformed) -> tuple[dict[str, int], dict[str, int]]:
    """(malformed reason -> datagrams, finding code -> occurrences), as a summary counts them."""
    found = Counter(f.code for d in datagrams for f in d.findings)
    found.update(f.code for r in records for f in r.findings)
    return dict(Counter(m.reason for m in malformed)), dict(found)


@dataclass
class CollectorResult:
    records: list[FlowRecord]
    datagrams: list[DatagramInfo]
    malformed: list[Malformed]
    summary: Summary
    complete: bool = True  # False: no summary line in the JSONL (collector killed), summary rebuilt
    live: dict[str, Any] = field(default_factory=dict)  # socket facts of a live run (drops, rcvbuf, ...)

    @property
    def sequence(self) -> tuple[ExporterReport, ...]:
        return self.summary.sequence

    def only(self, exporters: set[str], engine_type: int, engine_id: int) -> "CollectorResult":
        """What one exporter (its addresses, its engine) sent, when several share a collector."""
        engine = (engine_type, engine_id)

        def mine(exporter: str, header) -> bool:
            return exporter in exporters and (header.engine_type, header.engine_id) == engine

        records = [r for r in self.records if mine(r.exporter, r.header)]
        datagrams = [d for d in self.datagrams if mine(d.exporter, d.header)]
        malformed = [m for m in self.malformed if m.exporter in exporters]
        sequence = tuple(e for e in self.summary.sequence
                         if e.exporter in exporters and (e.engine_type, e.engine_id) == engine)
        by_reason, found = tallies(records, datagrams, malformed)
        return CollectorResult(records, datagrams, malformed,
                               Summary(len(datagrams), len(records), by_reason, found, sequence),
                               self.complete, self.live)

    def exporter_report(self, exporter: str, engine_type: int = 0, engine_id: int = 0) -> ExporterReport | None:
        return next((r for r in self.sequence if r.key == (exporter, engine_type, engine_id)), None)

    def find(self, include_duplicates: bool = False, **where: Any) -> list[FlowRecord]:
        unknown = set(where) - _RECORD_FIELDS
        if unknown:
            raise TypeError(f"no FlowRecord field {sorted(unknown)}; fields: {sorted(_RECORD_FIELDS)}")
        tests = [(k, v if callable(v) else (lambda x, v=v: x == v)) for k, v in where.items()]
        return [r for r in self.records
                if (include_duplicates or r.seq_status != DUPLICATE)
                and all(test(getattr(r, k)) for k, test in tests)]

    def one(self, **where: Any) -> FlowRecord:
        """The single record matching; LookupError naming how many did otherwise."""
        found = self.find(**where)
        if len(found) != 1:
            raise LookupError(f"{len(found)} records match {where}, expected 1")
        return found[0]

    def total(self, include_duplicates: bool = False, **where: Any) -> Totals:
        t = Totals()
        for r in self.find(include_duplicates, **where):
            t = t.add(r)
        return t

    def totals(self, include_duplicates: bool = False, **where: Any) -> dict[FiveTuple, Totals]:
        """Totals per 5-tuple (src, dst, sport, dport, proto) over the matching records."""
        out: dict[FiveTuple, Totals] = {}
        for r in self.find(include_duplicates, **where):
            out[r.five_tuple] = out.get(r.five_tuple, Totals()).add(r)
        return out

    def findings(self, code: str | Callable[[str], bool] | None = None) -> list[FindingAt]:
        """Every finding, header ones first within a datagram, in arrival order."""
        match = code if callable(code) else (lambda c: code is None or c == code)
        out, i = [], 0
        for d in self.datagrams:  # records are stored datagram by datagram, in order
            mine = self.records[i:i + d.header.count]
            i += d.header.count
            for where, found in [(None, d.findings)] + [(r, r.findings) for r in mine]:
                out += [FindingAt(f.code, f.detail, d.exporter, d.recv_ms, d.header.flow_sequence, where)
                        for f in found if match(f.code)]
        return out


def merge_runs(runs: list[CollectorResult]) -> CollectorResult:
    """One collector's successive runs (it was stopped or killed, then started
    again) as one result: the datagrams in arrival order, their sequence judged
    again as one stream, so what arrived while it was down shows as gaps."""
    if len(runs) == 1:
        return runs[0]
    tracker = SequenceTracker()
    datagrams, records, malformed = [], [], []
    for run in runs:
        i = 0
        for d in run.datagrams:  # records are stored datagram by datagram, in order
            event = tracker.observe(d.exporter, d.header)
            datagrams.append(replace(d, seq_status=event.status, missing=event.missing,
                                     filled=event.filled, reason=event.reason))
            records += [replace(r, seq_status=event.status) for r in run.records[i:i + d.header.count]]
            i += d.header.count
        malformed += run.malformed
    by_reason, found = tallies(records, datagrams, malformed)
    return CollectorResult(records, datagrams, malformed,
                           Summary(len(datagrams), len(records), by_reason, found, tuple(tracker.reports())),
                           all(r.complete for r in runs),
                           {"runs": [r.live for r in runs]})
