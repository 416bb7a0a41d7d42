"""Read a collector's JSONL back into a CollectorResult (see jsonl.py for the lines)."""
from __future__ import annotations

import json
from os import PathLike

from testbed.collector.jsonl import HEADER_FIELDS, RECORD_FIELDS
from testbed.collector.model import DatagramInfo, Finding, FlowRecord, Header, Malformed
from testbed.collector.result import CollectorResult, Summary, tallies
from testbed.collector.sequence import ExporterReport, SequenceTracker


def load_jsonl(path: str | PathLike) -> CollectorResult:
    """Everything the file's last run wrote. A collector killed before its summary
    still loads (complete=False, summary rebuilt from the lines); so does a torn last line."""
    records, datagrams, malformed = [], [], []
    summary, start, headers = None, {}, {}

    def header(d: dict) -> Header:  # records of one datagram share one Header
        values = tuple(d[k] for k in HEADER_FIELDS)
        return headers.setdefault(values, Header(*values))

    with open(path, encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    for n, line in enumerate(lines, 1):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            if n == len(lines):
                break  # written as the collector was killed
            raise ValueError(f"{path}:{n}: not JSON: {exc}") from None
        kind = obj["type"]
        if kind == "record":
            rec = obj["record"]
            records.append(FlowRecord(*(rec[k] for k in RECORD_FIELDS), obj["exporter"], obj["recv_ms"],
                                      header(obj["header"]), obj["index"], obj["seq_status"],
                                      _findings(obj["findings"])))
        elif kind == "datagram":
            s = obj["sequence"]
            datagrams.append(DatagramInfo(obj["exporter"], obj["port"], obj["recv_ms"], header(obj["header"]),
                                          s["status"], s["missing"], s["filled"], s["reason"],
                                          _findings(obj["findings"])))
        elif kind == "malformed":
            malformed.append(Malformed(obj["reason"], obj["detail"], bytes.fromhex(obj["raw_hex"]),
                                       obj["exporter"], obj["port"], obj["recv_ms"]))
        elif kind == "summary":
            summary = obj
        elif kind == "start":  # --jsonl appends: keep only the last run in the file
            start, summary, records, datagrams, malformed = obj, None, [], [], []
    if summary is None:
        return CollectorResult(records, datagrams, malformed, _rebuild(records, datagrams, malformed),
                               complete=False, live={"start": start})
    return CollectorResult(records, datagrams, malformed, Summary(
        summary["datagrams"], summary["records"], summary["malformed"], summary["findings"],
        tuple(ExporterReport(**r) for r in summary["sequence"])), live={"start": start, **summary["live"]})


def _findings(items: list[dict]) -> tuple[Finding, ...]:
    return tuple(Finding(f["code"], f["detail"]) for f in items)


def _rebuild(records, datagrams, malformed) -> Summary:
    """The summary a collector would have printed: replay the headers in order."""
    tracker = SequenceTracker()
    for d in datagrams:
        tracker.observe(d.exporter, d.header)
    by_reason, found = tallies(records, datagrams, malformed)
    return Summary(len(datagrams), len(records), by_reason, found, tuple(tracker.reports()))
