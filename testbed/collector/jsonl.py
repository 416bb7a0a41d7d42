"""JSON lines written by a collector run: one self-describing object per line.

Line types, in file order:
  start     - once: schema, listen address, check config, start time
  datagram  - per valid datagram: header, sequence verdict, header findings
  record    - per record, after its datagram: header again, the record, its findings
  malformed - per rejected datagram: reason, detail, raw bytes as hex
  summary   - once at the end: counts, per-exporter sequence report, live socket facts
All times are unix ms; field names are those of the dataclasses in model.py.
"""
from __future__ import annotations

import json
from dataclasses import asdict, fields
from operator import attrgetter

from testbed.collector.checks import CheckConfig
from testbed.collector.collector import Received
from testbed.collector.model import FlowRecord, Header
from testbed.collector.result import Summary

SCHEMA = 1
HEADER_FIELDS = tuple(f.name for f in fields(Header))
# FlowRecord fields that belong to the record itself (the rest is context).
_ALL = tuple(f.name for f in fields(FlowRecord))
RECORD_FIELDS = _ALL[:_ALL.index("exporter")]
_record_values = attrgetter(*RECORD_FIELDS)


def _header(h: Header) -> dict:
    d = {k: getattr(h, k) for k in HEADER_FIELDS}
    d["export_ms"] = h.export_ms  # derived; ignored when loading
    return d


def _findings(found) -> list[dict]:
    return [{"code": f.code, "detail": f.detail} for f in found]


def start_line(listen: str, recv_ms: int, config: CheckConfig, **live) -> str:
    return json.dumps({"type": "start", "schema": SCHEMA, "listen": listen, "recv_ms": recv_ms,
                       "config": asdict(config), **live})


def received_lines(got: Received) -> list[str]:
    if got.malformed is not None:
        m = got.malformed
        return [json.dumps({"type": "malformed", "recv_ms": m.recv_ms, "exporter": m.exporter, "port": m.port,
                            "reason": m.reason, "detail": m.detail, "length": len(m.raw),
                            "raw_hex": m.raw.hex()})]
    d, h = got.datagram, _header(got.datagram.header)
    lines = [json.dumps({"type": "datagram", "recv_ms": d.recv_ms, "exporter": d.exporter, "port": d.port,
                         "header": h, "sequence": {"status": d.seq_status, "missing": d.missing,
                                                   "filled": d.filled, "reason": d.reason},
                         "findings": _findings(d.findings)})]
    header = json.dumps(h)
    # The context is the same for every record of the datagram: encode it once.
    prefix = (f'{{"type": "record", "recv_ms": {d.recv_ms}, "exporter": {json.dumps(d.exporter)}, '
              f'"port": {d.port}, "seq_status": {json.dumps(d.seq_status)}, "header": {header}, "index": ')
    for r in got.records:
        rec = dict(zip(RECORD_FIELDS, _record_values(r)))
        rec["duration_ms"] = r.duration_ms  # derived; ignored when loading
        found = json.dumps(_findings(r.findings)) if r.findings else "[]"
        lines.append(f'{prefix}{r.index}, "record": {json.dumps(rec)}, "findings": {found}}}')
    return lines


def summary_line(summary: Summary, recv_ms: int, **live) -> str:
    return json.dumps({"type": "summary", "recv_ms": recv_ms, "datagrams": summary.datagrams,
                       "records": summary.records, "malformed": summary.malformed,
                       "findings": summary.findings, "records_lost": summary.records_lost,
                       "sequence": [asdict(r) for r in summary.sequence], "live": live})
