"""Readable lines for an operator watching the collector (nfdump-like, times UTC).

A record:  start end duration proto src:port -> dst:port in/out next-hop masks flags packets bytes
Anything else (sequence events, header findings, options records, template
withdrawals, undecodable data sets, malformed) starts with '#'.
"""
from __future__ import annotations

import time
from functools import lru_cache

from testbed.collector.model import (DEFINE, FIRST, GAP, IN_ORDER, RESET, REORDERED, DatagramInfo, FlowRecord,
                                     Malformed, OptionsRecord, TemplateEvent, Undecoded)
from testbed.collector.result import Summary
from testbed.collector.sequence import stream_of

PROTOS = {1: "ICMP", 2: "IGMP", 6: "TCP", 17: "UDP", 47: "GRE", 50: "ESP", 51: "AH", 132: "SCTP"}
FLAG_NAMES = "CEUAPRSF"  # bit 7 .. bit 0, as nfdump prints them


@lru_cache(maxsize=4096)  # records of a run share few distinct seconds
def _seconds_text(secs: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(secs))


def ms_text(ms: int) -> str:
    return f"{_seconds_text(ms // 1000)}.{ms % 1000:03d}"


_FLAGS = ["".join(c if flags & (0x80 >> i) else "." for i, c in enumerate(FLAG_NAMES)) for flags in range(256)]


def flags_text(flags: int) -> str:
    return _FLAGS[flags & 0xFF]


_PROTOS = [f"{PROTOS.get(p, str(p)):<4}" for p in range(256)]
_LINE = "%s.%03d %s.%03d %8.3f %s %s:%d -> %s:%s if %d->%d nh %s mask /%d->/%d %s tos %d %d pkts %d B"


def record_line(r: FlowRecord) -> str:
    # one % over precomputed pieces: the live collector writes a line per record
    start, end, proto = r.start_ms, r.end_ms, r.proto
    dport = f"{r.dport >> 8}.{r.dport & 0xFF}" if proto in (1, 58) else r.dport  # ICMP type.code
    src, dst = (f"[{r.src}]", f"[{r.dst}]") if ":" in r.src else (r.src, r.dst)
    line = _LINE % (_seconds_text(start // 1000), start % 1000, _seconds_text(end // 1000), end % 1000,
                    (end - start) / 1000, _PROTOS[proto & 0xFF], src, r.sport, dst, dport, r.input, r.output,
                    r.next_hop, r.src_mask, r.dst_mask, _FLAGS[r.tcp_flags & 0xFF], r.tos, r.packets, r.octets)
    if r.findings:
        line += "  !! " + "; ".join(f"{f.code}: {f.detail}" for f in r.findings)
    return line


def datagram_line(d: DatagramInfo) -> str | None:
    """Only what an operator should notice: not an in-order datagram without findings."""
    h = d.header
    events = {FIRST: "first datagram of this exporter",
              GAP: f"GAP, {d.missing} records missing",
              REORDERED: f"late, fills {d.filled} records of an earlier gap",
              RESET: f"exporter RESET ({d.reason})"}
    parts = [events.get(d.seq_status, d.seq_status.upper())] if d.seq_status != IN_ORDER else []
    parts += [f"{f.code}: {f.detail}" for f in d.findings]
    if not parts:
        return None
    uptime = f" uptime {h.sys_uptime}" if h.version != 10 else ""
    return (f"# {ms_text(d.recv_ms)} datagram {d.number} {stream_of(d.exporter, d.port, h)} "
            f"seq {h.flow_sequence} count {h.count}{uptime}: " + "; ".join(parts))


def options_line(o: OptionsRecord) -> str:
    values = ", ".join(f"{k}={_show(v)}" for k, v in {**o.scope, **o.values}.items())
    return f"# {ms_text(o.recv_ms)} options from {o.exporter}:{o.port} template {o.template_id}: {values}"


def template_line(t: TemplateEvent) -> str | None:
    """Only what an operator should notice: withdrawals (a definition or refresh is routine)."""
    if t.action == DEFINE:
        return None
    what = {2: "all templates", 3: "all options templates"}.get(t.template_id, f"template {t.template_id}")
    return f"# {ms_text(t.recv_ms)} datagram {t.datagram} {t.exporter}:{t.port} domain {t.domain} withdraws {what}"


def undecoded_line(u: Undecoded) -> str:
    return (f"# {ms_text(u.at_ms)} UNDECODED data set of template {u.template_id} ({u.length} octets) in datagram "
            f"{u.datagram} from {u.exporter}:{u.port} domain {u.domain}: {u.reason}: {u.detail}")


def _show(v) -> str:
    return v.hex() if isinstance(v, bytes) else str(v)


def malformed_line(m: Malformed) -> str:
    return (f"# {ms_text(m.recv_ms)} MALFORMED from {m.exporter}:{m.port} (datagram {m.number}): {m.reason} "
            f"({m.detail}), {len(m.raw)} bytes")


def summary_lines(s: Summary, live: dict | None = None) -> list[str]:
    head = (f"Summary: {s.records} records in {s.datagrams} datagrams from {len(s.sequence)} exporter(s), "
            f"{s.malformed_total} malformed, ")
    drops, unread = (live or {}).get("socket_drops"), (live or {}).get("unread_bytes")
    units = {}  # v9 counts export packets: its gaps are datagrams
    for r in s.sequence:
        units[r.unit] = units.get(r.unit, 0) + r.records_lost
    gaps = " and ".join(f"{n} {unit}" for unit, n in sorted(units.items(), reverse=True) if n or unit == "records")
    gaps = gaps or "0 records"
    if drops or unread:  # sequence numbers cannot see a loss here (at the end, or of every datagram)
        lost = [f"{drops} datagrams LOST AT THIS COLLECTOR (socket drops)"] if drops else []
        lost += [f"{unread} bytes LEFT UNREAD in its socket"] if unread else []
        head += " and ".join(lost) + f" (gaps in sequence numbers: {gaps})"
    else:
        head += f"{gaps} lost"
    out = [head]
    for r in s.sequence:
        lost = f"lost {r.records_lost}" + ("" if r.unit == "records" else f" {r.unit}")
        out.append(f"  exporter {r.stream}: datagrams {r.datagrams} "
                   f"records {r.records} {lost} gaps {r.gaps} duplicates {r.duplicates} "
                   f"reordered {r.reordered} resets {r.resets} (nfcapd would count {r.nfcapd_failures} "
                   f"sequence failures) next sequence {r.next_sequence}"
                   + (f"; its sequence numbers count {r.counting}" if r.counting else ""))
    if s.options:
        out.append(f"  options records: {s.options}")
    if s.templates:
        out.append("  templates: " + ", ".join(f"{k} {v}" for k, v in sorted(s.templates.items())))
    if s.undecoded:
        out.append("  UNDECODED data sets: " + ", ".join(f"{k} {v}" for k, v in sorted(s.undecoded.items())))
    if s.malformed:
        out.append("  malformed: " + ", ".join(f"{k} {v}" for k, v in sorted(s.malformed.items())))
    if s.findings:
        out.append("  findings: " + ", ".join(f"{k} {v}" for k, v in sorted(s.findings.items())))
    if live:
        out.append(("  capture: " if "read" in live else "  socket: ")
                   + ", ".join(f"{k} {v}" for k, v in live.items()))
    return out
