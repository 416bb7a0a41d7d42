"""Readable lines for an operator watching the collector (nfdump-like, times UTC).

A record:  start end duration proto src:port -> dst:port in/out next-hop masks flags packets bytes
Anything else (sequence events, header findings, malformed) starts with '#'.
"""
from __future__ import annotations

import time
from functools import lru_cache

from testbed.collector.model import FIRST, GAP, IN_ORDER, RESET, REORDERED, DatagramInfo, FlowRecord, Malformed
from testbed.collector.result import Summary

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


def record_line(r: FlowRecord) -> str:
    proto = PROTOS.get(r.proto, str(r.proto))
    dport = f"{r.dport >> 8}.{r.dport & 0xFF}" if r.proto == 1 else str(r.dport)  # ICMP type.code
    line = (f"{ms_text(r.start_ms)} {ms_text(r.end_ms)} {r.duration_ms / 1000:8.3f} {proto:<4} "
            f"{r.src}:{r.sport} -> {r.dst}:{dport} if {r.input}->{r.output} nh {r.next_hop} "
            f"mask /{r.src_mask}->/{r.dst_mask} {flags_text(r.tcp_flags)} tos {r.tos} "
            f"{r.packets} pkts {r.octets} B")
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
    return (f"# {ms_text(d.recv_ms)} {d.exporter} engine {h.engine_type}/{h.engine_id} "
            f"seq {h.flow_sequence} count {h.count} uptime {h.sys_uptime}: " + "; ".join(parts))


def malformed_line(m: Malformed) -> str:
    return (f"# {ms_text(m.recv_ms)} MALFORMED from {m.exporter}:{m.port}: {m.reason} "
            f"({m.detail}), {len(m.raw)} bytes")


def summary_lines(s: Summary, live: dict | None = None) -> list[str]:
    head = (f"Summary: {s.records} records in {s.datagrams} datagrams from {len(s.sequence)} exporter(s), "
            f"{s.malformed_total} malformed, ")
    drops, unread = (live or {}).get("socket_drops"), (live or {}).get("unread_bytes")
    if drops or unread:  # sequence numbers cannot see a loss here (at the end, or of every datagram)
        lost = [f"{drops} datagrams LOST AT THIS COLLECTOR (socket drops)"] if drops else []
        lost += [f"{unread} bytes LEFT UNREAD in its socket"] if unread else []
        head += " and ".join(lost) + f" (gaps in sequence numbers: {s.records_lost} records)"
    else:
        head += f"{s.records_lost} records lost"
    out = [head]
    for r in s.sequence:
        out.append(f"  exporter {r.exporter} engine {r.engine_type}/{r.engine_id}: datagrams {r.datagrams} "
                   f"records {r.records} lost {r.records_lost} gaps {r.gaps} duplicates {r.duplicates} "
                   f"reordered {r.reordered} resets {r.resets} (nfcapd would count {r.nfcapd_failures} "
                   f"sequence failures) next sequence {r.next_sequence}")
    if s.malformed:
        out.append("  malformed: " + ", ".join(f"{k} {v}" for k, v in sorted(s.malformed.items())))
    if s.findings:
        out.append("  findings: " + ", ".join(f"{k} {v}" for k, v in sorted(s.findings.items())))
    if live:
        out.append("  socket: " + ", ".join(f"{k} {v}" for k, v in live.items()))
    return out
