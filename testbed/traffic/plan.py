"""Crafted traffic as pure data: planned packets, the flows they make, who sends them.

Planning before sending gives the ground truth (every flow, its packets and
octets) without trusting the probe or the collector. Each crafted step kind
(traffic/steps/) plans its packets; this module is what they share.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from scapy.layers.inet import IP

@dataclass(frozen=True)
class Planned:
    t: float  # seconds after the step starts
    node: str  # the node that sends it
    data: bytes  # the IP packet as it leaves the node


@dataclass(frozen=True)
class FlowId:
    src: str
    dst: str
    sport: int
    dport: int
    proto: int
    tos: int

    @property
    def key(self) -> tuple[str, str, int, int, int, int]:
        """The v5 key fields as a tuple (a collector record's, in the same order)."""
        return (self.src, self.dst, self.sport, self.dport, self.proto, self.tos)

    def __str__(self) -> str:
        name = {6: "tcp", 17: "udp", 1: "icmp"}.get(self.proto, str(self.proto))
        return f"{name} {self.src}:{self.sport} -> {self.dst}:{self.dport}"


@dataclass
class FlowTruth:
    flow: FlowId
    node: str
    packets: int = 0
    octets: int = 0
    first: float | None = None  # unix time of the first and last packet sent
    last: float | None = None
    step: int = -1
    flags: int = 0


def flow_of(data: bytes) -> FlowId:
    """The v5 key fields of a crafted IPv4 packet (ICMP: type*256+code as dport)."""
    ip = IP(data)
    sport = dport = 0
    first_fragment = ip.frag == 0
    if first_fragment and ip.proto in (6, 17) and len(bytes(ip.payload)) >= (20 if ip.proto == 6 else 8):
        l4 = bytes(ip.payload)
        sport, dport = int.from_bytes(l4[0:2], "big"), int.from_bytes(l4[2:4], "big")
    elif first_fragment and ip.proto == 1 and len(bytes(ip.payload)) >= 2:
        l4 = bytes(ip.payload)
        dport = l4[0] * 256 + l4[1]
    return FlowId(ip.src, ip.dst, sport, dport, ip.proto, ip.tos)


def tcp_flags_of(data: bytes) -> int:
    ip = IP(data)
    if ip.proto == 6 and ip.frag == 0 and len(bytes(ip.payload)) >= 20:
        return bytes(ip.payload)[13]
    return 0


@dataclass(frozen=True)
class Ends:
    """Who talks to whom: node names and the addresses they use."""

    src_node: str
    src: str
    dst_node: str | None  # None when the destination is not a lab node
    dst: str


def pace(i: int, interval: float) -> float:
    return round(i * interval, 6)


def ends_of(topo, src_node: str, to: str) -> Ends:
    """Who talks to whom: `to` is a node (its address) or an address (maybe a node's)."""
    src = str(topo.address_of(src_node))
    if to in topo.nodes:
        return Ends(src_node, src, to, str(topo.address_of(to)))
    owner = next((n.name for n in topo.nodes.values()
                  if any(str(a.ip) == to for a in n.addresses)), None)
    return Ends(src_node, src, owner, to)


def truth_of(plans: list[Planned], step_index: int) -> dict[FlowId, FlowTruth]:
    """Expected flows of planned packets (before sending: no times yet)."""
    flows: dict[FlowId, FlowTruth] = {}
    for p in plans:
        fid = flow_of(p.data)
        t = flows.get(fid)
        if t is None:
            t = flows[fid] = FlowTruth(fid, p.node, step=step_index)
        t.packets += 1
        t.octets += len(p.data)
        t.flags |= tcp_flags_of(p.data)
    return flows


def split_by_node(plans: list[Planned]) -> dict[str, list[Planned]]:
    by_node: dict[str, list[Planned]] = defaultdict(list)
    for p in plans:
        by_node[p.node].append(p)
    return dict(by_node)
