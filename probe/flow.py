"""One flow cache entry: ng_netflow's `struct flow_entry`, minus the list links."""
from __future__ import annotations

from .packet import FlowKey


class Flow:
    __slots__ = (
        "key", "packets", "octets", "first", "last", "tcp_flags",
        "out_ifindex", "next_hop", "src_mask", "dst_mask",
    )

    def __init__(self, key: FlowKey, now: int) -> None:
        self.key = key
        self.packets = 0
        self.octets = 0
        self.first = now  # ms on the driver's clock
        self.last = now
        self.tcp_flags = 0
        self.out_ifindex = 0
        self.next_hop = 0
        self.src_mask = 0
        self.dst_mask = 0

    def __repr__(self) -> str:
        return (f"Flow({self.key}, packets={self.packets}, octets={self.octets}, "
                f"first={self.first}, last={self.last}, flags={self.tcp_flags:#04x})")
