"""The flow cache: ng_netflow's accounting and expiry rules, as pure logic.

Flows are kept in two orders, so that a scan only touches flows that expire:
by last activity (the seed's work queue; also the LRU order for eviction) and
by creation (for the active timeout). Expired flows are appended to
`self.expired` as (flow, Expiry) for the exporter; nothing here sends.

This is the oracle the compiled engine is held to: the rules with every field
bug fixed. r135400's bugs live in a subclass (r135400.QuirkyCache), which
overrides the steps named below (`_expire_by_packet`, `_make_room`,
`_first_packet`, `_fill_route`, `_expire`, `scan`).
"""
from __future__ import annotations

from collections import OrderedDict
from itertools import islice

from .constants import OCTETS_LIMIT, TH_FIN, TH_RST, U32_MAX, Expiry
from .flow import Flow
from .packet import FlowKey, Packet
from .routes import RouteLookup
from .stats import Stats


class FlowCache:
    def __init__(self, *, max_flows: int, active_ms: int, inactive_ms: int,
                 routes: RouteLookup | None, stats: Stats) -> None:
        if max_flows < 1:
            raise ValueError("max_flows must be at least 1")
        self.max_flows = max_flows
        self.active_ms = active_ms
        self.inactive_ms = inactive_ms
        self.routes = routes
        self.stats = stats
        self._by_last: OrderedDict[FlowKey, Flow] = OrderedDict()
        self._by_first: OrderedDict[FlowKey, Flow] = OrderedDict()
        self.expired: list[tuple[Flow, Expiry]] = []

    def __len__(self) -> int:
        return len(self._by_last)

    def flows(self) -> list[Flow]:
        return list(self._by_last.values())

    # -- packets -----------------------------------------------------------

    def add(self, pkt: Packet, now: int) -> bool:
        """Account one packet. Returns False only if a quirk drops it."""
        key = pkt.key
        flow = self._by_last.get(key)
        if flow is None:
            return self._add_new(pkt, now)
        if flow.octets + pkt.octets > U32_MAX:
            # only a BIG TCP packet (over 64 KiB) can pass the limit below: the
            # flow leaves before its counter would wrap, the packet starts a new one
            self._expire_by_packet(flow, Expiry.COUNTER_OVERFLOW)
            return self._add_new(pkt, now)
        self._by_last.move_to_end(key)
        flow.packets += 1
        flow.octets += pkt.octets
        flow.tcp_flags |= pkt.tcp_flags
        flow.last = now
        if pkt.tcp_flags & (TH_FIN | TH_RST):
            self._expire_by_packet(flow, Expiry.TCP_FIN_RST)
        elif now - flow.first > self.active_ms:
            self._expire_by_packet(flow, Expiry.ACTIVE)
        elif flow.octets >= OCTETS_LIMIT:
            self._expire_by_packet(flow, Expiry.COUNTER_OVERFLOW)
        return True

    def _add_new(self, pkt: Packet, now: int) -> bool:
        if not self._make_room():
            return False
        key = pkt.key
        flow = Flow(key, now)
        flow.packets = 1
        flow.octets = pkt.octets
        self._fill_route(flow)
        self._by_last[key] = flow
        self._by_first[key] = flow
        self.stats.flows_created += 1
        self._first_packet(flow, pkt)
        return True

    def _make_room(self) -> bool:
        """Before a new flow: a full cache exports its least recently used flow."""
        if len(self._by_last) >= self.max_flows:
            self.stats.evictions += 1
            self._expire(next(iter(self._by_last.values())), Expiry.EVICTED)
        return True

    def _first_packet(self, flow: Flow, pkt: Packet) -> None:
        """A new flow keeps its first packet's TCP flags; FIN or RST ends it at once."""
        flow.tcp_flags = pkt.tcp_flags
        if pkt.tcp_flags & (TH_FIN | TH_RST):
            self._expire_by_packet(flow, Expiry.TCP_FIN_RST)

    def _fill_route(self, flow: Flow) -> None:
        """Output ifindex, next hop and masks from two lookups, made once per flow."""
        if self.routes is None:
            return
        key = flow.key
        dst = self.routes.lookup(key.dst)
        src = self.routes.lookup(key.src)
        if dst is not None:
            flow.out_ifindex, flow.next_hop, flow.dst_mask = dst
        if src is not None:
            flow.src_mask = src.mask

    # -- expiry ------------------------------------------------------------

    def _expire(self, flow: Flow, reason: Expiry) -> None:
        key = flow.key
        del self._by_last[key]
        del self._by_first[key]
        self.expired.append((flow, reason))
        self.stats.exported[reason] += 1

    def _expire_by_packet(self, flow: Flow, reason: Expiry) -> None:
        """A flow a packet ended (not a scan, an eviction or a flush)."""
        self._expire(flow, reason)

    def scan(self, now: int) -> None:
        """The periodic expiry run (the seed's ng_netflow_expire)."""
        by_last, inactive = self._by_last, self.inactive_ms
        while by_last:
            flow = next(iter(by_last.values()))
            if now - flow.last <= inactive:
                break
            self._expire(flow, Expiry.INACTIVE)
        by_first, active = self._by_first, self.active_ms
        while by_first:
            flow = next(iter(by_first.values()))
            if now - flow.first <= active:
                break
            self._expire(flow, Expiry.ACTIVE)

    def expire_all(self, reason: Expiry, most: int | None = None) -> bool:
        """Expire every flow, or the `most` oldest; True when none is left."""
        for flow in list(islice(self._by_first.values(), most)):
            self._expire(flow, reason)
        return not self._by_first

    def set_timeouts(self, active_ms: int | None, inactive_ms: int | None) -> None:
        if active_ms is not None:
            self.active_ms = active_ms
        if inactive_ms is not None:
            self.inactive_ms = inactive_ms
