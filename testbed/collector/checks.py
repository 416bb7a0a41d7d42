"""Record and header checks: each violation is a named Finding, never an exception.

nfcapd stores whatever arrives; these checks are what makes the collector a
referee. Pure: the receive time and the exporter's reference boot time are
arguments.
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
    "export-time-skew",
    "first-after-last",
    "icmp-src-port",
    "last-after-uptime",
    "mask-over-32",
    "nonzero-padding",
    "octets-below-ip-header",
    "ports-without-ports",
    "sampling-mode-reserved",
    "tcp-flags-not-tcp",
    "tcp-flags-zero",
    "uptime-drift",
    "zero-packets",
})


@dataclass(frozen=True, slots=True)
class CheckConfig:
    # |export time - receive time| above this is a finding; None disables
    # (an offline probe stamps pcap time, not wall time).
    clock_slack_ms: int | None = 2000
    # unix time - sys_uptime is the exporter's boot time: it must stay put.
    # It drifts ~999 ms/s when uptime is counted in seconds (uptime-seconds).
    uptime_slack_ms: int | None = 1000


def record_findings(r: RawRecord, sys_uptime: int) -> tuple[Finding, ...]:
    out = []
    age_first, age_last = signed32(sys_uptime - r.first), signed32(sys_uptime - r.last)
    if age_last < 0:  # equivalently: the flow ends after its datagram's export time
        out.append(Finding("last-after-uptime", f"last {r.last} > sys_uptime {sys_uptime}: "
                           f"the flow ends {-age_last} ms after its datagram was exported"))
    if age_first < age_last:
        out.append(Finding("first-after-last", f"first {r.first} > last {r.last}"))
    if r.tcp_flags and r.proto != TCP:
        out.append(Finding("tcp-flags-not-tcp", f"tcp_flags 0x{r.tcp_flags:02x} on proto {r.proto}"))
    elif r.proto == TCP and not r.tcp_flags and (r.sport or r.dport):
        # every TCP segment carries some flag (a lone SYN whose flags were lost
        # shows this: first-flags-lost); non-first fragments have no ports and no flags
        out.append(Finding("tcp-flags-zero", "TCP flow with ports but no flags (or a null scan)"))
    if r.proto == ICMP:
        if r.sport:  # Cisco/nfdump put type*256+code in the destination port only
            out.append(Finding("icmp-src-port", f"ICMP with src port {r.sport}"))
    elif r.proto not in PORTED and (r.sport or r.dport):
        out.append(Finding("ports-without-ports", f"proto {r.proto} has no ports, got {r.sport}/{r.dport}"))
    if r.src_mask > 32 or r.dst_mask > 32:
        out.append(Finding("mask-over-32", f"masks /{r.src_mask} /{r.dst_mask}"))
    if r.packets < 1:
        out.append(Finding("zero-packets", f"packets {r.packets}, octets {r.octets}"))
    elif r.octets < MIN_IP_HEADER * r.packets:
        out.append(Finding("octets-below-ip-header", f"{r.octets} octets in {r.packets} packets "
                           f"(< {MIN_IP_HEADER} per packet)"))
    if r.pad1 or r.pad2:
        out.append(Finding("nonzero-padding", f"pad1 0x{r.pad1:02x} pad2 0x{r.pad2:04x}"))
    return tuple(out)


def header_findings(h: Header, recv_ms: int, boot_ref_ms: int, cfg: CheckConfig) -> tuple[Finding, ...]:
    """`boot_ref_ms` is export_ms - sys_uptime of this exporter's first datagram
    (since its last reset)."""
    out = []
    if h.sampling_mode not in SAMPLING_MODES:
        out.append(Finding("sampling-mode-reserved", f"sampling mode {h.sampling_mode}, "
                           f"interval {h.sampling_interval}"))
    skew = h.export_ms - recv_ms
    if cfg.clock_slack_ms is not None and abs(skew) > cfg.clock_slack_ms:
        out.append(Finding("export-time-skew", f"export time is {skew:+d} ms from receive time "
                           f"(slack {cfg.clock_slack_ms} ms)"))
    drift = signed32(h.export_ms - h.sys_uptime - boot_ref_ms)  # a wrap moves it by 2^32
    if cfg.uptime_slack_ms is not None and abs(drift) > cfg.uptime_slack_ms:
        out.append(Finding("uptime-drift", f"boot time (unix - sys_uptime) moved {drift:+d} ms since "
                           f"the exporter's first datagram: sys_uptime not in ms?"))
    return tuple(out)
