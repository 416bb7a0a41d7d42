"""The flow cache: ng_netflow's accounting and expiry rules, as pure logic.

Flows are kept in two orders, so that a scan only touches flows that expire:
by last activity (the seed's work queue; also the LRU order for eviction) and
by creation (for the active timeout). Expired flows are appended to
`self.expired` as (flow, reason) for the exporter; nothing here sends.
"""
from __future__ import annotations

from collections import OrderedDict

from . import quirks as Q
from .flow import Flow
from .packet import FlowKey, Packet
from .routes import RouteLookup
from .stats import Stats

TH_FIN, TH_RST = 0x01, 0x04
# ng_netflow expires a flow before its 32-bit octet counter can wrap:
# UINT_MAX - IF_MAXMTU, so that one more packet always fits.
U32_MAX = 0xFFFFFFFF
OCTETS_LIMIT = U32_MAX - 65535


class FlowCache:
    def __init__(self, *, max_flows: int, active_ms: int, inactive_ms: int,
                 routes: RouteLookup | None, stats: Stats,
                 quirks: frozenset[str] = frozenset()) -> None:
        if max_flows < 1:
            raise ValueError("max_flows must be at least 1")
        self.max_flows = max_flows
        self.active_ms = active_ms
        self.inactive_ms = inactive_ms
        self.routes = routes
        self.stats = stats
        self.quirks = quirks
        self._by_last: OrderedDict[FlowKey, Flow] = OrderedDict()
        self._by_first: OrderedDict[FlowKey, Flow] = OrderedDict()
        self.expired: list[tuple[Flow, str]] = []
        # r135400 recycled entries LIFO without clearing them; only kept
        # when a quirk needs what the previous user left behind.
        self._recycle = Q.FIRST_FLAGS_LOST in quirks or Q.STALE_ROUTE_FIELDS in quirks
        self._ghosts: list[tuple[int, int, int, int, int]] = []
        # ...and an entry expired by a packet sat on its expire list, still
        # used, until the next run freed it (lines 170-178, 655-673).
        self._seed_lists = self._recycle or Q.CACHE_FULL_DROPS in quirks
        self._unfreed: list[tuple[int, int, int, int, int]] = []

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
            self._expire(flow, "counter_overflow", by_packet=True)
            return self._add_new(pkt, now)
        self._by_last.move_to_end(key)
        flow.packets += 1
        flow.octets += pkt.octets
        flow.tcp_flags |= pkt.tcp_flags
        flow.last = now
        if pkt.tcp_flags & (TH_FIN | TH_RST):
            self._expire(flow, "tcp_fin_rst", by_packet=True)
        elif now - flow.first > self.active_ms:
            self._expire(flow, "active", by_packet=True)
        elif flow.octets >= OCTETS_LIMIT:
            self._expire(flow, "counter_overflow", by_packet=True)
        return True

    def _add_new(self, pkt: Packet, now: int) -> bool:
        if Q.CACHE_FULL_DROPS in self.quirks:
            # r135400: entries waiting on the expire list still count as used;
            # when none is free, ENOMEM and the packet is silently lost
            if len(self._by_last) + len(self._unfreed) >= self.max_flows:
                return False
        elif len(self._by_last) >= self.max_flows:
            self.stats.evictions += 1
            self._expire(next(iter(self._by_last.values())), "evicted")
        key = pkt.key
        flow = Flow(key, now)
        flow.packets = 1
        flow.octets = pkt.octets
        self._fill_route(flow)
        self._by_last[key] = flow
        self._by_first[key] = flow
        self.stats.flows_created += 1
        if Q.FIRST_FLAGS_LOST in self.quirks:
            return True  # r135400 neither stored these flags nor checked FIN/RST
        flow.tcp_flags = pkt.tcp_flags
        if pkt.tcp_flags & (TH_FIN | TH_RST):
            self._expire(flow, "tcp_fin_rst", by_packet=True)
        return True

    def _fill_route(self, flow: Flow) -> None:
        ghost = self._ghosts.pop() if self._ghosts else None
        if ghost is not None and Q.FIRST_FLAGS_LOST in self.quirks:
            flow.tcp_flags = ghost[0]
        if self.routes is None:
            return
        key = flow.key
        dst = self.routes.lookup(key.dst)
        src = self.routes.lookup(key.src)
        if Q.STALE_ROUTE_FIELDS in self.quirks:
            # r135400 wrote each field only when its lookup found something
            if ghost is not None:
                _, flow.out_ifindex, flow.next_hop, flow.src_mask, flow.dst_mask = ghost
            if dst is not None:
                flow.out_ifindex = dst.out_ifindex
                if dst.next_hop:
                    flow.next_hop = dst.next_hop
                flow.dst_mask = dst.mask
            if src is not None:
                flow.src_mask = src.mask
            return
        if dst is not None:
            flow.out_ifindex, flow.next_hop, flow.dst_mask = dst
        if src is not None:
            flow.src_mask = src.mask

    # -- expiry ------------------------------------------------------------

    def _expire(self, flow: Flow, reason: str, by_packet: bool = False) -> None:
        key = flow.key
        del self._by_last[key]
        del self._by_first[key]
        self.expired.append((flow, reason))
        self.stats.exported[reason] += 1
        if self._seed_lists:
            ghost = (flow.tcp_flags, flow.out_ifindex, flow.next_hop, flow.src_mask, flow.dst_mask)
            (self._unfreed if by_packet else self._ghosts).append(ghost)

    def _free_expire_list(self) -> None:
        # The seed takes its expire list from the head (newest first) and
        # pushes each entry on the free list's head: the oldest is reused first.
        self._ghosts.extend(reversed(self._unfreed))
        self._unfreed.clear()

    def scan(self, now: int) -> None:
        """The periodic expiry run (the seed's ng_netflow_expire)."""
        if self._unfreed:
            self._free_expire_list()
        if Q.IDLE_LARGE_FLOWS_STUCK in self.quirks:
            self._scan_r135400(now)
            return
        by_last, inactive = self._by_last, self.inactive_ms
        while by_last:
            flow = next(iter(by_last.values()))
            if now - flow.last <= inactive:
                break
            self._expire(flow, "inactive")
        by_first, active = self._by_first, self.active_ms
        while by_first:
            flow = next(iter(by_first.values()))
            if now - flow.first <= active:
                break
            self._expire(flow, "active")

    def _scan_r135400(self, now: int) -> None:
        # Below the low-water mark, inactive flows of more than 4 packets are
        # kept, and the active timeout is never looked at here (lines 676-717).
        lowat = self.max_flows * 3 // 4
        used = len(self._by_last)
        for flow in list(self._by_last.values()):
            inactive = now - flow.last > self.inactive_ms
            if used <= lowat and not inactive:
                break
            if inactive and (flow.packets <= 4 or used > lowat):
                self._expire(flow, "inactive")
                # `used = free_flow()`: it returns nfinfo_used before its
                # decrement (line 154), so the count lags one flow behind
                used = len(self._by_last) + 1

    def expire_all(self, reason: str) -> None:
        for flow in list(self._by_first.values()):
            self._expire(flow, reason)

    def set_timeouts(self, active_ms: int | None, inactive_ms: int | None) -> None:
        if active_ms is not None:
            self.active_ms = active_ms
        if inactive_ms is not None:
            self.inactive_ms = inactive_ms
