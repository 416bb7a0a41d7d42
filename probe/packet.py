"""The facts the probe keeps of one IPv4 packet (the decoder's output)."""
from __future__ import annotations

from typing import NamedTuple


class FlowKey(NamedTuple):
    """ng_netflow's flow key. Addresses are host-order ints."""

    src: int
    dst: int
    sport: int
    dport: int
    proto: int
    tos: int
    in_ifindex: int


class Packet(NamedTuple):
    key: FlowKey
    octets: int  # IP total length, as ng_netflow counts
    tcp_flags: int
    truncated: bool = False  # a (first) fragment too short for its L4 header
