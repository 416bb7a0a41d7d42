"""Small builders for core tests: packets, either engine on a fake clock, v5 parsing.

Core tests run against both engines (`engine` is "reference" or "fast"): the
rules are one, the engines two. A test that exercises one engine says why.
"""
from __future__ import annotations

import ipaddress
import struct

from probe.constants import Skip
from probe.engine_api import Config, FlowEngine
from probe.fast.choose import probe_class
from probe.fast.engine import FastProbe
from probe.packet import FlowKey, Packet

ENGINES = ("reference", "fast")
TCP, UDP, ICMP = 6, 17, 1
SYN, FIN, RST, ACK = 0x02, 0x01, 0x04, 0x10


def ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def key(src="10.0.1.1", dst="10.0.2.2", sport=1000, dport=80, proto=TCP, tos=0, ifindex=1):
    return FlowKey(ip(src), ip(dst), sport, dport, proto, tos, ifindex)


def pkt(k=None, octets=100, flags=0, **kw) -> Packet:
    return Packet(k or key(**kw), octets, flags)


def make_probe(engine: str, start=1_000_000, routes=None, **cfg) -> FlowEngine:
    """`engine`'s probe (with quirks in `cfg`: the reference engine's QuirkyProbe)."""
    config = Config(**cfg)
    return probe_class(engine, config)(config, routes, start)


def records(probe: FlowEngine):
    return [r for d in probe.datagrams_to_send() for r in d.records]


def set_sequence(probe: FlowEngine, sequence: int) -> None:
    """Start the export's sequence counter elsewhere than 0 (to reach its wrap)."""
    if isinstance(probe, FastProbe):
        probe.engine.sequence = sequence
    else:
        probe.exporter.encoder.sequence = sequence


def decoded(engine: str, frame: bytes, linktype: int, ifindex: int,
            icmp_ports: bool = True, **cfg) -> Packet | Skip:
    """What `engine` makes of one frame, read back from its statistics and the
    record it exports: the Skip reason, or the packet's facts."""
    p = make_probe(engine, icmp_ports=icmp_ports, max_flows=4, **cfg)
    p.handle_frame(frame, linktype, ifindex, 1_000_000)
    if p.stats.skipped:
        (reason,) = p.stats.skipped
        return reason
    p.flush(1_000_000)
    (r,) = records(p)
    return Packet(FlowKey(r.src, r.dst, r.sport, r.dport, r.proto, r.tos, r.input), r.octets,
                  r.tcp_flags, p.stats.truncated == 1)


HDR = struct.Struct("!HHIIIIBBH")


def header(data: bytes) -> dict:
    names = ("version", "count", "sys_uptime", "unix_secs", "unix_nsecs",
             "flow_sequence", "engine_type", "engine_id", "sampling")
    return dict(zip(names, HDR.unpack_from(data)))
