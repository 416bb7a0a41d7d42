"""What a collector run produced, with the queries the testbed's checks ask.

`find(**where)` matches FlowRecord fields: a value to compare, or a callable
predicate, e.g. `result.find(dst="10.0.2.1", proto=17, output=3)` or
`result.find(src_mask=lambda m: m != 24)`. Records of duplicate datagrams are
left out of queries and totals unless asked (the sequence report counts them).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, Callable, NamedTuple

from testbed.collector.model import (DUPLICATE, DatagramInfo, FiveTuple, FlowRecord, Malformed, OptionsRecord,
                                     TemplateEvent, Undecoded)
from testbed.collector.sequence import ExporterReport, SequenceTracker, Stream

_RECORD_FIELDS = frozenset(FlowRecord._fields)


@dataclass(frozen=True, slots=True)
class Summary:
    datagrams: int  # valid ones, duplicates included
    records: int
    malformed: dict[str, int]  # reason -> datagrams
    findings: dict[str, int]  # code -> occurrences
    sequence: tuple[ExporterReport, ...]
    undecoded: dict[str, int] = field(default_factory=dict)  # v9/IPFIX data sets never decoded, by reason
    templates: dict[str, int] = field(default_factory=dict)  # defined, refreshed, redefined, withdrawn, evicted,
    #                                                          held, released (data sets), holding (at the end)
    options: int = 0  # v9/IPFIX options records

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
    datagram: int = 0  # its number


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
    options: list[OptionsRecord] = field(default_factory=list)  # v9/IPFIX options records
    templates: list[TemplateEvent] = field(default_factory=list)  # v9/IPFIX template records as received
    undecoded: list[Undecoded] = field(default_factory=list)  # v9/IPFIX data sets never decoded

    @property
    def sequence(self) -> tuple[ExporterReport, ...]:
        return self.summary.sequence

    def only(self, exporters: set[str], engine_type: int | None = None, engine_id: int | None = None, *,
             domain: int | None = None) -> "CollectorResult":
        """What one exporter sent, when several share a collector: its addresses, and of them the
        stream its protocol numbers - v5 datagrams of engine (engine_type, engine_id), v9/IPFIX
        ones of source id / observation domain `domain` (None: any)."""

        def mine(exporter: str, version: int, stream_id: int) -> bool:
            if exporter not in exporters:
                return False
            if version == 5:
                return engine_type is None or stream_id == (engine_type << 8 | (engine_id or 0))
            return domain is None or stream_id == domain

        def of(exporter: str, header) -> bool:
            return mine(exporter, header.version, header.domain)

        records = [r for r in self.records if of(r.exporter, r.header)]
        datagrams = [d for d in self.datagrams if of(d.exporter, d.header)]
        malformed = [m for m in self.malformed if m.exporter in exporters]
        options = [o for o in self.options if of(o.exporter, o.header)]
        templates = [t for t in self.templates if mine(t.exporter, t.version, t.domain)]
        undecoded = [u for u in self.undecoded if mine(u.exporter, u.version, u.domain)]
        sequence = tuple(e for e in self.summary.sequence if mine(e.exporter, e.version, e.domain))
        by_reason, found = tallies(records, datagrams, malformed)
        return CollectorResult(records, datagrams, malformed,
                               Summary(len(datagrams), len(records), by_reason, found, sequence,
                                       dict(Counter(u.reason for u in undecoded)), {}, len(options)),
                               self.complete, self.live, options, templates, undecoded)

    def exporter_report(self, exporter: str, engine_type: int = 0, engine_id: int = 0) -> ExporterReport | None:
        """The v5 stream of an exporter's engine."""
        return self.stream_report(Stream(exporter, 5, 0, engine_type << 8 | engine_id))

    def stream_report(self, stream: Stream) -> ExporterReport | None:
        """Any version's stream (sequence.Stream: exporter, version, port for IPFIX, domain)."""
        return next((r for r in self.sequence if r.stream == stream), None)

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
        of = defaultdict(list)  # a datagram's number -> its records (v9/IPFIX: some decoded later)
        for r in self.records:
            if r.findings:
                of[r.datagram].append(r)
        out = []
        for d in self.datagrams:
            for where, found in [(None, d.findings)] + [(r, r.findings) for r in of.pop(d.number, ())]:
                out += [FindingAt(f.code, f.detail, d.exporter, d.recv_ms, d.header.flow_sequence, where, d.number)
                        for f in found if match(f.code)]
        return out


def merge_runs(runs: list[CollectorResult]) -> CollectorResult:
    """One collector's successive runs (it was stopped or killed, then started
    again) as one result: the datagrams in arrival order, their sequence judged
    again as one stream, so what arrived while it was down shows as gaps.
    Datagram numbers go on from one run to the next."""
    if len(runs) == 1:
        return runs[0]
    tracker = SequenceTracker()
    datagrams, records, malformed, options, templates, undecoded = [], [], [], [], [], []
    base = 0
    for run in runs:
        status = {}
        for d in run.datagrams:
            event = tracker.observe(d.exporter, d.header, d.port, d.contents)
            status[d.number] = event.status
            datagrams.append(replace(d, seq_status=event.status, missing=event.missing, filled=event.filled,
                                     reason=event.reason, number=base + d.number))
        records += [r._replace(seq_status=status.get(r.datagram, r.seq_status), datagram=base + r.datagram)
                    for r in run.records]
        malformed += [replace(m, number=base + m.number) for m in run.malformed]
        options += [replace(o, datagram=base + o.datagram) for o in run.options]
        templates += [replace(t, datagram=base + t.datagram) for t in run.templates]
        undecoded += [replace(u, datagram=base + u.datagram) for u in run.undecoded]
        base += max([d.number for d in run.datagrams] + [m.number for m in run.malformed] + [0])
    by_reason, found = tallies(records, datagrams, malformed)
    summary = Summary(len(datagrams), len(records), by_reason, found, tuple(tracker.reports()),
                      dict(Counter(u.reason for u in undecoded)), {}, len(options))
    return CollectorResult(records, datagrams, malformed, summary, all(r.complete for r in runs),
                           {"runs": [r.live for r in runs]}, options, templates, undecoded)
