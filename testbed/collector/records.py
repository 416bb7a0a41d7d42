"""Raw v5 wire records -> readable FlowRecords (dotted addresses, absolute times, findings)."""
from __future__ import annotations

from socket import inet_ntoa

from testbed.collector.checks import record_findings
from testbed.collector.model import NO_EXTRA, FlowRecord, Header
from testbed.collector.times import flow_times
from testbed.collector.v5 import RawRecord


def build_records(header: Header, raws: list[RawRecord], exporter: str, recv_ms: int,
                  seq_status: str, datagram: int = 0) -> tuple[FlowRecord, ...]:
    export_ms, uptime = header.export_ms, header.sys_uptime
    out = []
    for i, r in enumerate(raws):
        start_ms, end_ms = flow_times(export_ms, uptime, r.first, r.last)
        out.append(FlowRecord(
            inet_ntoa(r.src), inet_ntoa(r.dst), inet_ntoa(r.next_hop), r.input, r.output,
            r.packets, r.octets, r.first, r.last, start_ms, end_ms, r.sport, r.dport,
            r.tcp_flags, r.proto, r.tos, r.src_as, r.dst_as, r.src_mask, r.dst_mask, NO_EXTRA,
            exporter, recv_ms, header, i, seq_status, record_findings(r, uptime), datagram))
    return tuple(out)
