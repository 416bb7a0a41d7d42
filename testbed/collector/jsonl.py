"""JSON lines written by a collector run: one self-describing object per line.

Line types, in file order:
  start     - once: schema, listen address (or the capture read), check config, start time
  datagram  - per valid datagram: its number, header, sequence verdict, header findings
              (v9/IPFIX: `contents`, what its sets held)
  template  - v9/IPFIX: per template record (defined, refreshed, withdrawn), after its datagram
  options   - v9/IPFIX: per options record: its scope and values by element name
  record    - per flow record, after its datagram: version, header again, the record (`extra`:
              v9/IPFIX fields by element name), its findings, its datagram's number
  undecoded - v9/IPFIX: a data set given up (no template came in time, ...)
  malformed - per rejected datagram: reason, detail, raw bytes as hex
  summary   - once at the end: counts, per-stream sequence report, live socket facts
All times are unix ms; field names are those of the dataclasses in model.py.
Octets (v9/IPFIX values of octetArray fields, unknown elements) are {"hex": "..."}.
"""
from __future__ import annotations

import json
from dataclasses import asdict, fields
from typing import get_type_hints

from testbed.collector.checks import CheckConfig
from testbed.collector.collector import Received
from testbed.collector.model import NO_EXTRA, FlowRecord, Header, OptionsRecord, TemplateEvent, Undecoded
from testbed.collector.result import Summary

SCHEMA = 2
HEADER_FIELDS = tuple(f.name for f in fields(Header))
# FlowRecord fields that belong to the record itself (the rest is context).
_ALL = FlowRecord._fields
RECORD_FIELDS = _ALL[:_ALL.index("exporter")]
_EXTRA = FlowRecord._fields.index("extra")  # the record's own fields come first, extra last of them
# A record as JSON, written straight (json.dumps of a dict costs 5 times more): its strings
# are addresses as inet_ntoa/inet_ntop wrote them, nothing to escape; its other fields ints.
_TYPES = get_type_hints(FlowRecord)
_RECORD_JSON = "{" + ", ".join(f'"{k}": ' + ('"%s"' if _TYPES[k] is str else "%d")
                               for k in RECORD_FIELDS[:-1]) + ', "extra": %s, "duration_ms": %d}'


def _header(h: Header) -> dict:
    d = {k: getattr(h, k) for k in HEADER_FIELDS}
    d["export_ms"] = h.export_ms  # derived; ignored when loading
    return d


def _findings(found) -> list[dict]:
    return [{"code": f.code, "detail": f.detail} for f in found]


def json_value(v):
    return {"hex": v.hex()} if isinstance(v, bytes) else v


def json_values(values) -> dict:
    return {k: json_value(v) for k, v in values.items()}


def start_line(listen: str, recv_ms: int, config: CheckConfig, **live) -> str:
    return json.dumps({"type": "start", "schema": SCHEMA, "listen": listen, "recv_ms": recv_ms,
                       "config": asdict(config), **live})


def received_lines(got: Received) -> list[str]:
    lines = [_undecoded(u) for u in got.undecoded]  # given up while this one came
    if got.malformed is not None:
        m = got.malformed
        return lines + [json.dumps({"type": "malformed", "recv_ms": m.recv_ms, "exporter": m.exporter,
                                    "port": m.port, "number": m.number, "reason": m.reason, "detail": m.detail,
                                    "length": len(m.raw), "raw_hex": m.raw.hex()})]
    d = got.datagram
    header = json.dumps(_header(d.header))  # once: its records carry it too
    line = {"type": "datagram", "recv_ms": d.recv_ms, "exporter": d.exporter, "port": d.port, "number": d.number,
            "header": None, "sequence": {"status": d.seq_status, "missing": d.missing, "filled": d.filled,
                                         "reason": d.reason}, "findings": _findings(d.findings)}
    if d.contents is not None:
        line["contents"] = d.contents._asdict()
    lines.append(json.dumps(line).replace('"header": null', f'"header": {header}', 1))
    lines += [_template(t) for t in got.templates]
    lines += [_options(o) for o in got.options]
    line_of, of = "", None
    for r in got.records:
        if r.datagram != of or not line_of:  # a datagram's context, encoded once for its records
            of = r.datagram
            prefix = (f'{{"type": "record", "version": {r.header.version}, "recv_ms": {r.recv_ms}, '
                      f'"exporter": {json.dumps(r.exporter)}, "port": {d.port}, "datagram": {r.datagram}, '
                      f'"seq_status": {json.dumps(r.seq_status)}, "header": '
                      f'{header if r.header is d.header else json.dumps(_header(r.header))}, "index": ')
            line_of = prefix.replace("%", "%%") + '%d, "record": ' + _RECORD_JSON + ', "findings": %s}'
        lines.append(line_of % ((r.index,) + r[:_EXTRA] + (
            "{}" if r.extra is NO_EXTRA else json.dumps(json_values(r.extra)),
            r.end_ms - r.start_ms,  # duration_ms: derived, ignored when loading
            json.dumps(_findings(r.findings)) if r.findings else "[]")))
    return lines


def _template(t: TemplateEvent) -> str:
    return json.dumps({"type": "template", "datagram": t.datagram, "recv_ms": t.recv_ms, "exporter": t.exporter,
                       "port": t.port, "export_ms": t.export_ms, "version": t.version, "domain": t.domain,
                       "template_id": t.template_id, "action": t.action, "options": t.options,
                       "scope_count": t.scope_count, "fields": [list(f) for f in t.fields]})


def _options(o: OptionsRecord) -> str:
    return json.dumps({"type": "options", "datagram": o.datagram, "recv_ms": o.recv_ms, "exporter": o.exporter,
                       "port": o.port, "version": o.header.version, "header": _header(o.header),
                       "template_id": o.template_id, "scope": json_values(o.scope),
                       "values": json_values(o.values), "findings": _findings(o.findings)})


def _undecoded(u: Undecoded) -> str:
    return json.dumps({"type": "undecoded", **asdict(u)})


def final_lines(undecoded) -> list[str]:
    """What the end of a run gave up (Collector.finish)."""
    return [_undecoded(u) for u in undecoded]


def summary_line(summary: Summary, recv_ms: int, **live) -> str:
    return json.dumps({"type": "summary", "recv_ms": recv_ms, "datagrams": summary.datagrams,
                       "records": summary.records, "malformed": summary.malformed,
                       "findings": summary.findings, "records_lost": summary.records_lost,
                       "sequence": [asdict(r) for r in summary.sequence], "undecoded": summary.undecoded,
                       "templates": summary.templates, "options": summary.options, "live": live})
