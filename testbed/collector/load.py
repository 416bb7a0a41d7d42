"""Read a collector's JSONL back into a CollectorResult (see jsonl.py for the lines).

`JsonlReader` reads a file that is still growing: each `poll()` decodes only
the complete lines added since the last one, so a run that polls for an hour
does not read the file again and again. `load_jsonl` is one poll of a
finished file.
"""
from __future__ import annotations

import json
from os import PathLike
from pathlib import Path

from collections import Counter

from testbed.collector.jsonl import HEADER_FIELDS, RECORD_FIELDS
from testbed.collector.model import (NO_EXTRA, DatagramInfo, FieldSpec, Finding, FlowRecord, Header, Malformed,
                                     OptionsRecord, SetCounts, TemplateEvent, Undecoded)
from testbed.collector.result import CollectorResult, Summary, tallies
from testbed.collector.sequence import ExporterReport, SequenceTracker

CHUNK = 1 << 20


def load_jsonl(path: str | PathLike) -> CollectorResult:
    """Everything the file's last run wrote. A collector killed before its summary
    still loads (complete=False, summary rebuilt from the lines); so does a torn last line."""
    return JsonlReader(path).poll()


class JsonlReader:
    def __init__(self, path: str | PathLike) -> None:
        self.path = Path(path)
        self._offset = 0
        self._line = 0
        self._restart()

    def _restart(self, start: dict | None = None) -> None:
        self.records: list[FlowRecord] = []
        self.datagrams: list[DatagramInfo] = []
        self.malformed: list[Malformed] = []
        self.options: list[OptionsRecord] = []
        self.templates: list[TemplateEvent] = []
        self.undecoded: list[Undecoded] = []
        self._number = 0  # files of schema 1 do not number datagrams: count them
        self._summary: dict | None = None
        self._start = start or {}
        self._headers: dict[tuple, Header] = {}
        self._tracker = SequenceTracker()  # the summary of a run that has not ended (yet)

    def poll(self) -> CollectorResult:
        """What the file holds now (complete lines only)."""
        if self.path.exists():
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                while chunk := f.read(CHUNK):
                    end = chunk.rfind(b"\n")
                    if end < 0:
                        if len(chunk) < CHUNK:
                            break  # a torn last line: written as the collector was killed
                        raise ValueError(f"{self.path}: a line longer than {CHUNK} bytes")
                    for line in chunk[:end].split(b"\n"):
                        self._take(line)
                    self._offset += end + 1
                    f.seek(self._offset)
        return self.result()

    def _take(self, line: bytes) -> None:
        self._line += 1
        if not line.strip():
            return
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{self.path}:{self._line}: not JSON: {exc}") from None
        kind = obj["type"]
        if kind == "record":
            rec = obj["record"]
            extra = _values(rec["extra"]) if rec.get("extra") else NO_EXTRA
            self.records.append(FlowRecord(*(rec[k] for k in RECORD_FIELDS[:-1]), extra, obj["exporter"],
                                           obj["recv_ms"], self._header(obj["header"]), obj["index"],
                                           obj["seq_status"], _findings(obj["findings"]),
                                           obj.get("datagram", self._number)))
        elif kind == "datagram":
            s = obj["sequence"]
            self._number = obj.get("number", self._number + 1)
            contents = SetCounts(**obj["contents"]) if "contents" in obj else None
            d = DatagramInfo(obj["exporter"], obj["port"], obj["recv_ms"], self._header(obj["header"]),
                             s["status"], s["missing"], s["filled"], s["reason"], _findings(obj["findings"]),
                             self._number, contents)
            self.datagrams.append(d)
            self._tracker.observe(d.exporter, d.header, d.port, d.contents)
        elif kind == "template":
            self.templates.append(TemplateEvent(
                obj["datagram"], obj["exporter"], obj["port"], obj["recv_ms"], obj["export_ms"], obj["version"],
                obj["domain"], obj["template_id"], obj["action"], obj["options"], obj["scope_count"],
                tuple(FieldSpec(*f) for f in obj["fields"])))
        elif kind == "options":
            self.options.append(OptionsRecord(obj["exporter"], obj["port"], obj["recv_ms"], self._header(obj["header"]),
                                              obj["datagram"], obj["template_id"], _values(obj["scope"]),
                                              _values(obj["values"]), _findings(obj["findings"])))
        elif kind == "undecoded":
            self.undecoded.append(Undecoded(**{k: v for k, v in obj.items() if k != "type"}))
        elif kind == "malformed":
            self._number = obj.get("number", self._number + 1)
            self.malformed.append(Malformed(obj["reason"], obj["detail"], bytes.fromhex(obj["raw_hex"]),
                                            obj["exporter"], obj["port"], obj["recv_ms"], self._number))
        elif kind == "summary":
            self._summary = obj
        elif kind == "start":  # --jsonl appends: keep only the last run in the file
            self._restart(obj)

    def _header(self, d: dict) -> Header:  # records of one datagram share one Header
        values = tuple(d.get(k, 0) for k in HEADER_FIELDS)
        return self._headers.setdefault(values, Header(*values))

    def result(self) -> CollectorResult:
        records, datagrams, malformed = list(self.records), list(self.datagrams), list(self.malformed)
        more = dict(options=list(self.options), templates=list(self.templates), undecoded=list(self.undecoded))
        s = self._summary
        if s is None:  # the summary a collector would have printed
            by_reason, found = tallies(records, datagrams, malformed)
            summary = Summary(len(datagrams), len(records), by_reason, found, tuple(self._tracker.reports()),
                              dict(Counter(u.reason for u in self.undecoded)), {}, len(self.options))
            return CollectorResult(records, datagrams, malformed, summary, complete=False,
                                   live={"start": self._start}, **more)
        return CollectorResult(records, datagrams, malformed, Summary(
            s["datagrams"], s["records"], s["malformed"], s["findings"],
            tuple(ExporterReport(**r) for r in s["sequence"]), s.get("undecoded", {}), s.get("templates", {}),
            s.get("options", 0)), live={"start": self._start, **s["live"]}, **more)


def _findings(items: list[dict]) -> tuple[Finding, ...]:
    return tuple(Finding(f["code"], f["detail"]) for f in items)


def _values(d: dict) -> dict:
    """Values by element name, as they were before JSON: octets back to bytes."""
    return {k: bytes.fromhex(v["hex"]) if isinstance(v, dict) and "hex" in v else v for k, v in d.items()}
