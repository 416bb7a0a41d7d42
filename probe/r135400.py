"""The reference engine as r135400 was: each field bug of quirks.py back on
request, by overriding the steps of the oracle (engine.Probe, cache.FlowCache,
export.Exporter) that the bug changed. Without quirks these classes are the
oracle; the compiled engine has none of this.

`--quirk ID` / `--compat r135400` take this engine (fast/choose.py); each
quirk is tested where the behaviour differs (tests/core/test_quirks.py) and
shown by its lab (topologies/field-bugs/, docs/field-bugs.md).
"""
from __future__ import annotations

from . import quirks as Q
from .cache import FlowCache
from .constants import TCP, UDP, U32_MAX, Expiry, Skip
from .engine import Probe, encoder_of
from .engine_api import Config
from .export import Exporter
from .flow import Flow
from .packet import Packet
from .routes import RouteLookup

# what an entry kept when it was freed: tcp_flags, out_ifindex, next_hop, src_mask, dst_mask
Ghost = tuple[int, int, int, int, int]


class QuirkyCache(FlowCache):
    def __init__(self, *, quirks: frozenset[str], **kw) -> None:
        super().__init__(**kw)
        self.quirks = quirks
        # r135400 recycled entries LIFO without clearing them; only kept
        # when a quirk needs what the previous user left behind.
        self._recycle = Q.FIRST_FLAGS_LOST in quirks or Q.STALE_ROUTE_FIELDS in quirks
        self._ghosts: list[Ghost] = []
        # ...and an entry expired by a packet sat on its expire list, still
        # used, until the next run freed it (lines 170-178, 655-673).
        self._seed_lists = self._recycle or Q.CACHE_FULL_DROPS in quirks
        self._unfreed: list[Ghost] = []

    def _make_room(self) -> bool:
        if Q.CACHE_FULL_DROPS not in self.quirks:
            return super()._make_room()
        # r135400: entries waiting on the expire list still count as used;
        # when none is free, ENOMEM and the packet is silently lost
        return len(self._by_last) + len(self._unfreed) < self.max_flows

    def _first_packet(self, flow: Flow, pkt: Packet) -> None:
        if Q.FIRST_FLAGS_LOST not in self.quirks:
            super()._first_packet(flow, pkt)
        # else r135400 neither stored these flags nor checked FIN/RST

    def _fill_route(self, flow: Flow) -> None:
        ghost = self._ghosts.pop() if self._ghosts else None
        if ghost is not None and Q.FIRST_FLAGS_LOST in self.quirks:
            flow.tcp_flags = ghost[0]
        if Q.STALE_ROUTE_FIELDS not in self.quirks or self.routes is None:
            super()._fill_route(flow)
            return
        key = flow.key
        dst = self.routes.lookup(key.dst)
        src = self.routes.lookup(key.src)
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

    def _expire(self, flow: Flow, reason: Expiry) -> None:
        super()._expire(flow, reason)
        self._remember(flow, self._ghosts)

    def _expire_by_packet(self, flow: Flow, reason: Expiry) -> None:
        super()._expire(flow, reason)  # FlowCache's: it waits on the expire list
        self._remember(flow, self._unfreed)

    def _remember(self, flow: Flow, where: list[Ghost]) -> None:
        if self._seed_lists:
            where.append((flow.tcp_flags, flow.out_ifindex, flow.next_hop, flow.src_mask,
                          flow.dst_mask))

    def _free_expire_list(self) -> None:
        # The seed takes its expire list from the head (newest first) and
        # pushes each entry on the free list's head: the oldest is reused first.
        self._ghosts.extend(reversed(self._unfreed))
        self._unfreed.clear()

    def scan(self, now: int) -> None:
        if self._unfreed:
            self._free_expire_list()
        if Q.IDLE_LARGE_FLOWS_STUCK in self.quirks:
            self._scan_r135400(now)
        else:
            super().scan(now)

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
                self._expire(flow, Expiry.INACTIVE)
                # `used = free_flow()`: it returns nfinfo_used before its
                # decrement (line 154), so the count lags one flow behind
                used = len(self._by_last) + 1


class QuirkyExporter(Exporter):
    def __init__(self, *, quirks: frozenset[str], **kw) -> None:
        super().__init__(**kw)
        self.uptime_divisor = 1000 if Q.UPTIME_SECONDS in quirks else 1

    def uptime(self, t_ms: int) -> int:
        return ((t_ms - self.start_ms) // self.uptime_divisor) & U32_MAX


class QuirkyProbe(Probe):
    """The reference engine with `config.quirks` switched on."""

    def __init__(self, config: Config, routes: RouteLookup | None = None,
                 start_ms: int = 0, stats=None) -> None:
        super().__init__(config, routes, start_ms, stats)
        self._drop_truncated = Q.TRUNCATED_FIRST_FRAGMENT in config.quirks
        self._hold_partial = Q.PARTIAL_DATAGRAM_HELD in config.quirks

    def _cache(self, config: Config, routes: RouteLookup | None) -> FlowCache:
        return QuirkyCache(max_flows=config.max_flows, active_ms=config.active_ms,
                           inactive_ms=config.inactive_ms, routes=routes, stats=self.stats,
                           quirks=config.quirks)

    def _exporter(self, config: Config, start_ms: int) -> Exporter:
        return QuirkyExporter(start_ms=start_ms, encoder=encoder_of(config), quirks=config.quirks)

    def _truncated(self, pkt: Packet) -> bool:
        # r135400 returned EINVAL (not accounted) for a TCP or UDP header
        # cut short; it never looked into ICMP, so those were accounted
        if self._drop_truncated and pkt.key.proto in (TCP, UDP):
            self.stats.skipped[Skip.TRUNCATED_L4_HEADER] += 1
            return False
        return super()._truncated(pkt)

    def _after_scan(self, at: int) -> None:
        if not self._hold_partial:
            super()._after_scan(at)
        # else r135400 sent a datagram only when it was full

    def _after_flush(self, now: int, reason: Expiry) -> None:
        if reason is Expiry.SHUTDOWN and Q.SHUTDOWN_LOSES_PARTIAL in self.config.quirks:
            self.exporter.pending.clear()  # r135400 never sent the last partial datagram
        else:
            super()._after_flush(now, reason)
