"""Small builders for core tests: packets, a probe with a fake clock, v5 parsing."""
from __future__ import annotations

import ipaddress
import struct

from probe.engine import Config, Probe
from probe.packet import FlowKey, Packet

TCP, UDP, ICMP = 6, 17, 1
SYN, FIN, RST, ACK = 0x02, 0x01, 0x04, 0x10


def ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def key(src="10.0.1.1", dst="10.0.2.2", sport=1000, dport=80, proto=TCP, tos=0, ifindex=1):
    return FlowKey(ip(src), ip(dst), sport, dport, proto, tos, ifindex)


def pkt(k=None, octets=100, flags=0, **kw) -> Packet:
    return Packet(k or key(**kw), octets, flags)


def make_probe(start=1_000_000, routes=None, **cfg) -> Probe:
    return Probe(Config(**cfg), routes=routes, start_ms=start)


def records(probe: Probe):
    return [r for d in probe.datagrams_to_send() for r in d.records]


HDR = struct.Struct("!HHIIIIBBH")


def header(data: bytes) -> dict:
    names = ("version", "count", "sys_uptime", "unix_secs", "unix_nsecs",
             "flow_sequence", "engine_type", "engine_id", "sampling")
    return dict(zip(names, HDR.unpack_from(data)))
