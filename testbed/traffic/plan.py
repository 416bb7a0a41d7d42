"""Crafted traffic as pure data: planned packets, the flows they make, who sends them.

Planning before sending gives the ground truth (every flow, its packets and
octets) without trusting the probe or the collector. Each crafted step kind
(traffic/steps/) plans its packets; this module is what they share.
"""
from __future__ import annotations

from array import array
from collections import defaultdict
from dataclasses import dataclass, field

from .ipv4 import FlowId, key_of


@dataclass(frozen=True)
class Planned:
    t: float  # seconds after the step starts
    node: str  # the node that sends it
    data: bytes  # the IP packet as it leaves the node


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
    lag: float | None = None  # seconds the sending fell behind its planned times, at most
    times: array = field(default_factory=lambda: array("d"))  # unix time each packet was sent (8 B each)

    def merge(self, later: "FlowTruth") -> None:
        """The same flow sent again by a later step: add it up."""
        self.packets += later.packets
        self.octets += later.octets
        self.last = later.last
        self.flags |= later.flags
        self.times += later.times
        if later.lag is not None:
            self.lag = max(self.lag or 0.0, later.lag)


def flow_of(data: bytes) -> FlowId:
    """The v5 key fields of an IPv4 packet (ICMP: type*256+code as dport)."""
    key = key_of(data)
    if isinstance(key, str):
        raise ValueError(f"not a packet a probe accounts: {key}")
    return key.flow


def tcp_flags_of(data: bytes) -> int:
    return key_of(data).tcp_flags


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
