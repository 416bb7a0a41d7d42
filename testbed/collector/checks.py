"""Record and header checks: each violation is a named Finding, never an exception.

nfcapd stores whatever arrives; these checks are what makes the collector a
referee. Pure: the receive time and the exporter's reference boot time are
arguments. The field rules hold for every version (`field_findings`); times
and padding differ: v5 here, v9/IPFIX in flowmap.py and the set walkers.
"""
from __future__ import annotations

from dataclasses import dataclass

from testbed.collector.model import Finding, Header
from testbed.collector.times import signed32
from testbed.collector.v5 import RawRecord

TCP, ICMP = 6, 1
# Protocols whose first 4 bytes of payload are ports: TCP, UDP, DCCP, SCTP, UDP-Lite.
PORTED = frozenset({6, 17, 33, 132, 136})
MIN_IP_HEADER = 20
SAMPLING_MODES = {0: "none", 1: "deterministic", 2: "random"}
# Every finding code the collector can report (lab files name them in `codes:`).
CODES = frozenset({
    "count-mismatch",  # v9: the header's count is not the records it carries (RFC 3954 5.1)
    "data-before-template",  # v9/IPFIX: a data set came before its template (held, then decoded)
    "end-after-export",  # v9/IPFIX: a flow ends after its datagram was exported
    "export-time-skew",
    "field-length",  # v9/IPFIX: a template gives a field a length its type does not allow
    "first-after-last",
    "icmp-src-port",
    "last-after-uptime",
    "mask-over-32",
    "nonzero-padding",
    "octets-below-ip-header",
    "ports-without-ports",
    "reserved-set-id",  # v9/IPFIX: a set of a reserved id (skipped)
    "sampling-mode-reserved",
    "sequence-counting",  # v9/IPFIX: the sequence numbers count something else than the RFC says
    "tcp-flags-not-tcp",
    "tcp-flags-zero",
    "template-withdrawal-over-udp",  # IPFIX: RFC 7011 8.4 forbids it
    "trailing-bytes",  # v9: bytes after the last flowset too few for a set header
    "uptime-drift",
    "uptime-origin-unknown",  # IPFIX: sysUpTime-relative times without systemInitTimeMilliseconds
    "zero-packets",
})
ICMPS = frozenset({1, 58})  # ICMP, ICMPv6


@dataclass(frozen=True, slots=True)
class CheckConfig:
    # |export time - receive time| above this is a finding; None disables
    # (an offline probe stamps pcap time, not wall time).
    clock_slack_ms: int | None = 2000
    # unix time - sys_uptime is the exporter's boot time: it must stay put.
    # It drifts ~999 ms/s when uptime is counted in seconds (uptime-seconds).
    uptime_slack_ms: int | None = 1000


def uptime_findings(first: int, last: int, sys_uptime: int) -> list[Finding]:
    out = []
    age_first, age_last = signed32(sys_uptime - first), signed32(sys_uptime - last)
    if age_last < 0:  # equivalently: the flow ends after its datagram's export time
        out.append(Finding("last-after-uptime", f"last {last} > sys_uptime {sys_uptime}: "
                           f"the flow ends {-age_last} ms after its datagram was exported"))
    if age_first < age_last:
        out.append(Finding("first-after-last", f"first {first} > last {last}"))
    return out


def field_findings(proto: int, sport: int, dport: int, tcp_flags: int, src_mask: int, dst_mask: int,
                   packets: int, octets: int, ipv6: bool = False) -> list[Finding]:
    """What no flow record of any version may say (IPv6: /128 masks, 40-octet headers)."""
    out = []
    if tcp_flags and proto != TCP:
        out.append(Finding("tcp-flags-not-tcp", f"tcp_flags 0x{tcp_flags:02x} on proto {proto}"))
    elif proto == TCP and not tcp_flags and (sport or dport):
        # every TCP segment carries some flag (a lone SYN whose flags were lost
        # shows this: first-flags-lost); non-first fragments have no ports and no flags
        out.append(Finding("tcp-flags-zero", "TCP flow with ports but no flags (or a null scan)"))
    if proto in ICMPS:
        if sport:  # Cisco/nfdump put type*256+code in the destination port only
            out.append(Finding("icmp-src-port", f"ICMP with src port {sport}"))
    elif proto not in PORTED and (sport or dport):
        out.append(Finding("ports-without-ports", f"proto {proto} has no ports, got {sport}/{dport}"))
    most = 128 if ipv6 else 32
    if src_mask > most or dst_mask > most:
        out.append(Finding("mask-over-32", f"masks /{src_mask} /{dst_mask}" + (" (IPv6: over 128)" if ipv6 else "")))
    least = 40 if ipv6 else MIN_IP_HEADER
    if packets < 1:
        out.append(Finding("zero-packets", f"packets {packets}, octets {octets}"))
    elif octets < least * packets:
        out.append(Finding("octets-below-ip-header", f"{octets} octets in {packets} packets "
                           f"(< {least} per packet)"))
    return out


def record_findings(r: RawRecord, sys_uptime: int) -> tuple[Finding, ...]:
    out = uptime_findings(r.first, r.last, sys_uptime)
    out += field_findings(r.proto, r.sport, r.dport, r.tcp_flags, r.src_mask, r.dst_mask, r.packets, r.octets)
    if r.pad1 or r.pad2:
        out.append(Finding("nonzero-padding", f"pad1 0x{r.pad1:02x} pad2 0x{r.pad2:04x}"))
    return tuple(out)


def header_findings(h: Header, recv_ms: int, boot_ref_ms: int, cfg: CheckConfig) -> tuple[Finding, ...]:
    """`boot_ref_ms` is export_ms - sys_uptime of this exporter's first datagram
    (since its last reset). IPFIX has no sys_uptime: no drift to measure."""
    out = []
    if h.version == 5 and h.sampling_mode not in SAMPLING_MODES:
        out.append(Finding("sampling-mode-reserved", f"sampling mode {h.sampling_mode}, "
                           f"interval {h.sampling_interval}"))
    skew = h.export_ms - recv_ms
    if cfg.clock_slack_ms is not None and abs(skew) > cfg.clock_slack_ms:
        out.append(Finding("export-time-skew", f"export time is {skew:+d} ms from receive time "
                           f"(slack {cfg.clock_slack_ms} ms)"))
    drift = signed32(h.export_ms - h.sys_uptime - boot_ref_ms)  # a wrap moves it by 2^32
    if cfg.uptime_slack_ms is not None and h.version != 10 and abs(drift) > cfg.uptime_slack_ms:
        out.append(Finding("uptime-drift", f"boot time (unix - sys_uptime) moved {drift:+d} ms since "
                           f"the exporter's first datagram: sys_uptime not in ms?"))
    return tuple(out)
