"""What every flow engine is to its drivers: a `Config` in, the `FlowEngine`
calls, `ExportDatagram`s out.

The reference engine (engine.Probe, and r135400.QuirkyProbe with field bugs
back), the compiled one (fast.engine.FastProbe) satisfy `FlowEngine`; the
drivers (offline.py, live/daemon.py, bench/) and tests type against it, never
against one engine. Sans-IO: time is an argument (`now_ms`, integer ms on the
driver's clock), nothing here reads a clock or touches a socket.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Callable, Protocol, runtime_checkable

from . import quirks as Q
from .constants import (ACTIVE_MS, FLUSH_FLOWS, INACTIVE_MS, MAX_FLOWS, SCAN_MS, U32_MAX, V5_VERSION,
                        V9_TEMPLATE_PACKETS, V9_TEMPLATE_S, V9_VERSION, Expiry)
from .export import Record
from .flow import Flow
from .packet import Packet
from .stats import Stats


@dataclass(frozen=True)
class Config:
    inactive_ms: int = INACTIVE_MS
    active_ms: int = ACTIVE_MS
    scan_ms: int = SCAN_MS
    max_flows: int = MAX_FLOWS
    engine_type: int = 0
    engine_id: int = 0
    icmp_ports: bool = True  # ICMP type*256+code in dst port (Cisco, nfdump)
    quirks: frozenset[str] = field(default_factory=frozenset)
    export_version: int = V5_VERSION  # 5 (as r135400) or 9
    template_ms: int = V9_TEMPLATE_S * 1000  # v9: the template again after this long...
    template_packets: int = V9_TEMPLATE_PACKETS  # ...or this many datagrams
    # cooked captures: count the frames the capturing host sent (a host's capture,
    # `--direction both`); a router's are second copies of forwarded packets
    outgoing: bool = False

    def __post_init__(self) -> None:
        for name in ("inactive_ms", "active_ms", "scan_ms", "max_flows", "template_ms",
                     "template_packets"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.export_version not in (V5_VERSION, V9_VERSION):
            raise ValueError(f"no export version {self.export_version} (5 or 9)")
        if self.template_packets > U32_MAX:  # a count of datagrams, as the v9 sequence
            raise ValueError("template_packets must be at most 2^32 - 1")
        Q.parse(list(self.quirks))


class ExportDatagram(Protocol):
    """One export datagram: its bytes, and its records with why each expired."""

    @property
    def data(self) -> bytes: ...

    @property
    def records(self) -> tuple[Record, ...]: ...


@runtime_checkable
class FlowEngine(Protocol):
    """A flow engine: frames or packets and time in, datagrams out."""

    config: Config

    @property
    def stats(self) -> Stats: ...

    def handle_frame(self, frame: bytes, linktype: int, ifindex: int, now_ms: int,
                     wire_len: int = 0) -> None:
        """Decode and account one captured frame (`wire_len`: its length on the
        wire, if the capture may have cut it)."""

    def handle_packet(self, pkt: Packet, now_ms: int) -> None:
        """Account one decoded packet."""

    def handle_timer(self, now_ms: int) -> None:
        """Run every expiry scan due by `now_ms`."""

    def next_timer_ms(self) -> int:
        """When the next scan is due."""

    def flush(self, now_ms: int, reason: Expiry = Expiry.FLUSH, most: int | None = None) -> bool:
        """Expire every flow for `reason` and build the partial datagram; True.
        With `most`: that many flows at most, oldest first, and False while
        flows remain (call again; the datagrams are the same as in one call)."""

    def set_timeouts(self, active_ms: int | None = None, inactive_ms: int | None = None) -> None:
        """Change the timeouts (None: keep); ValueError unless positive."""

    def timeouts(self) -> tuple[int, int]:
        """(active_ms, inactive_ms) in force."""

    def flows(self) -> Sequence[Flow]:
        """The live flows, least recently active first."""

    def datagrams_to_send(self) -> Sequence[ExportDatagram]:
        """Pop what was built; the driver sends it (and the sender counts what left)."""


def flush_streamed(probe: FlowEngine, now: int, send: Callable[[ExportDatagram], None],
                   reason: Expiry = Expiry.SHUTDOWN) -> None:
    """Every flow expires for `reason`, a few thousand at a time, each batch's
    datagrams sent before the next is built (a million flows would otherwise be
    33,000 datagrams held at once). The same datagrams as one flush."""
    done = False
    while not done:
        done = probe.flush(now, reason, FLUSH_FLOWS)
        for d in probe.datagrams_to_send():
            send(d)
