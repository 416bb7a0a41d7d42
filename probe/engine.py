"""The reference engine: one sans-IO object, frames and time in, datagrams out.

Drivers (offline.py, live/daemon.py, the tests) feed `handle_frame` or
`handle_packet` with the time, call `handle_timer` when `next_timer_ms` is
due, and send whatever `datagrams_to_send` returns (engine_api.FlowEngine).
This is the oracle the compiled engine (fast/) is tested against: every field
bug fixed. r135400.QuirkyProbe brings them back, overriding the steps below.
"""
from __future__ import annotations

from .cache import FlowCache
from .constants import MAX_CATCHUP_SCANS, Expiry
from .decode import decode
from .engine_api import Config
from .export import Datagram, Encoder, Exporter, encoder
from .flow import Flow
from .packet import Packet
from .routes import RouteLookup
from .stats import Stats

__all__ = ["Config", "Probe"]


def encoder_of(config: Config) -> Encoder:
    """The export format `config` asks for."""
    return encoder(config.export_version, engine_type=config.engine_type,
                   engine_id=config.engine_id, template_ms=config.template_ms,
                   template_packets=config.template_packets)


class Probe:
    def __init__(self, config: Config, routes: RouteLookup | None = None,
                 start_ms: int = 0, stats: Stats | None = None) -> None:
        if config.quirks and type(self) is Probe:
            raise ValueError("quirks are r135400.QuirkyProbe's (choose.probe_class picks it)")
        self.config = config
        self.stats = stats if stats is not None else Stats()
        self.cache = self._cache(config, routes)
        self.exporter = self._exporter(config, start_ms)
        self._now = start_ms
        self._next_scan = start_ms + config.scan_ms

    def _cache(self, config: Config, routes: RouteLookup | None) -> FlowCache:
        return FlowCache(max_flows=config.max_flows, active_ms=config.active_ms,
                         inactive_ms=config.inactive_ms, routes=routes, stats=self.stats)

    def _exporter(self, config: Config, start_ms: int) -> Exporter:
        return Exporter(start_ms=start_ms, encoder=encoder_of(config))

    # -- input ---------------------------------------------------------------

    def handle_frame(self, frame: bytes, linktype: int, ifindex: int, now_ms: int,
                     wire_len: int = 0) -> None:
        """`wire_len`: the frame's length on the wire, if the capture may have cut it."""
        self.stats.frames += 1
        config = self.config
        pkt = decode(frame, linktype, ifindex, config.icmp_ports, wire_len, config.outgoing)
        if type(pkt) is not Packet:
            self.stats.skipped[pkt] += 1
            return
        self.handle_packet(pkt, now_ms)

    def handle_packet(self, pkt: Packet, now_ms: int) -> None:
        if now_ms > self._now:  # the clock never steps back (see _clock)
            self._now = now_ms
        now = self._now
        if now >= self._next_scan:
            self.handle_timer(now)
        if pkt.truncated and not self._truncated(pkt):
            return
        cache, stats = self.cache, self.stats
        if cache.add(pkt, now):
            stats.packets += 1
            stats.octets += pkt.octets
        if cache.expired:
            self._export(now)

    def _truncated(self, pkt: Packet) -> bool:
        """A packet whose L4 header the capture cut: accounted, ports 0, counted."""
        self.stats.truncated += 1
        return True

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
            self._after_scan(at)
            self._next_scan = at + scan_ms

    def _after_scan(self, at: int) -> None:
        self.exporter.emit(at)  # so no record waits more than one scan

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

    def flush(self, now_ms: int, reason: Expiry = Expiry.FLUSH, most: int | None = None) -> bool:
        """Expire every flow (at most `most`: engine_api) and send everything
        (shutdown or on request)."""
        now = self._clock(now_ms)
        done = self.cache.expire_all(reason, most)
        self._export(now)
        if done:
            self._after_flush(now, reason)
        return done

    def _after_flush(self, now: int, reason: Expiry) -> None:
        self.exporter.emit(now)

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

    def timeouts(self) -> tuple[int, int]:
        return self.cache.active_ms, self.cache.inactive_ms

    def flows(self) -> list[Flow]:
        return self.cache.flows()
