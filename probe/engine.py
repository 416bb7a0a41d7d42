"""The probe as one sans-IO object: frames and time in, datagrams out.

Drivers (offline.py, live/daemon.py, the tests) feed `handle_frame` or
`handle_packet` with the time, call `handle_timer` when `next_timer_ms` is
due, and send whatever `datagrams_to_send` returns.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import quirks as Q
from .cache import FlowCache
from .decode import decode
from .export import Datagram, Exporter
from .flow import Flow
from .packet import Packet
from .routes import RouteLookup
from .stats import Stats

# If the clock jumps this many scans ahead, run one scan instead of all.
MAX_CATCHUP_SCANS = 100_000


@dataclass(frozen=True)
class Config:
    inactive_ms: int = 15_000
    active_ms: int = 1_800_000
    scan_ms: int = 1_000
    max_flows: int = 262_144
    engine_type: int = 0
    engine_id: int = 0
    icmp_ports: bool = True  # ICMP type*256+code in dst port (Cisco, nfdump)
    quirks: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        for name in ("inactive_ms", "active_ms", "scan_ms", "max_flows"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        Q.parse(list(self.quirks))


class Probe:
    def __init__(self, config: Config, routes: RouteLookup | None = None,
                 start_ms: int = 0, stats: Stats | None = None) -> None:
        self.config = config
        self.stats = stats if stats is not None else Stats()
        self.cache = FlowCache(max_flows=config.max_flows, active_ms=config.active_ms,
                               inactive_ms=config.inactive_ms, routes=routes,
                               stats=self.stats, quirks=config.quirks)
        self.exporter = Exporter(start_ms=start_ms, engine_type=config.engine_type,
                                 engine_id=config.engine_id, quirks=config.quirks)
        self._now = start_ms
        self._next_scan = start_ms + config.scan_ms
        self._drop_truncated = Q.TRUNCATED_FIRST_FRAGMENT in config.quirks
        self._hold_partial = Q.PARTIAL_DATAGRAM_HELD in config.quirks

    # -- input ---------------------------------------------------------------

    def handle_frame(self, frame: bytes, linktype: int, ifindex: int, now_ms: int,
                     wire_len: int = 0) -> None:
        """`wire_len`: the frame's length on the wire, if the capture may have cut it."""
        self.stats.frames += 1
        pkt = decode(frame, linktype, ifindex, self.config.icmp_ports, wire_len)
        if type(pkt) is str:
            self.stats.skipped[pkt] += 1
            return
        self.handle_packet(pkt, now_ms)

    def handle_packet(self, pkt: Packet, now_ms: int) -> None:
        if now_ms > self._now:  # the clock never steps back (see _clock)
            self._now = now_ms
        now = self._now
        if now >= self._next_scan:
            self.handle_timer(now)
        if pkt.truncated:
            # r135400 returned EINVAL (not accounted) for a TCP or UDP header
            # cut short; it never looked into ICMP, so those were accounted
            if self._drop_truncated and pkt.key.proto in (6, 17):
                self.stats.skipped["truncated_l4_header"] += 1
                return
            self.stats.truncated += 1
        cache, stats = self.cache, self.stats
        if cache.add(pkt, now):
            stats.packets += 1
            stats.octets += pkt.octets
        if cache.expired:
            self._export(now)

    # -- time ----------------------------------------------------------------

    def next_timer_ms(self) -> int:
        return self._next_scan

    def handle_timer(self, now_ms: int) -> None:
        """Run every scan due by `now_ms`, each at its own scheduled time."""
        now = self._clock(now_ms)
        scan_ms = self.config.scan_ms
        if (now - self._next_scan) // scan_ms > MAX_CATCHUP_SCANS:
            self._next_scan = now - (now - self._next_scan) % scan_ms
        while self._next_scan <= now:
            at = self._next_scan
            self.cache.scan(at)
            self._export(at)
            if not self._hold_partial:  # so no record waits more than one scan
                self.exporter.emit(at)
            self._next_scan = at + scan_ms

    def _clock(self, now_ms: int) -> int:
        # Capture files and wall clocks can step back; flow times must not.
        if now_ms > self._now:
            self._now = now_ms
        return self._now

    # -- output --------------------------------------------------------------

    def _export(self, now: int) -> None:
        exporter = self.exporter
        for flow, reason in self.cache.expired:
            exporter.add(flow, reason, now)
        self.cache.expired.clear()
        self.stats.active_flows = len(self.cache)

    def flush(self, now_ms: int, reason: str = "flush") -> None:
        """Expire every flow and send everything (shutdown or on request)."""
        now = self._clock(now_ms)
        self.cache.expire_all(reason)
        self._export(now)
        if not (reason == "shutdown" and Q.SHUTDOWN_LOSES_PARTIAL in self.config.quirks):
            self.exporter.emit(now)
        else:
            self.exporter.pending.clear()  # r135400 never sent the last partial datagram

    def datagrams_to_send(self) -> list[Datagram]:
        """Pops what was built; the driver sends it (and the sender counts what left)."""
        out = self.exporter.out
        if not out:
            return []
        self.exporter.out = []
        self.stats.ifindex_clamped = self.exporter.ifindex_clamped
        return out

    def set_timeouts(self, active_ms: int | None = None, inactive_ms: int | None = None) -> None:
        for value in (active_ms, inactive_ms):
            if value is not None and value <= 0:
                raise ValueError("timeouts must be positive")
        self.cache.set_timeouts(active_ms, inactive_ms)

    def flows(self) -> list[Flow]:
        return self.cache.flows()
