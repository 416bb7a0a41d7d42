"""`FastProbe`: a `FlowEngine` (engine_api) over the compiled core.

Per-frame calls go straight to the compiled engine (`_engine.Engine`); this
class adds what drivers expect of an engine: `Stats` counters, `Flow`
snapshots for `show`, datagrams whose records are decoded only when asked
for (`--print`, tests).
"""
from __future__ import annotations

import os
from collections.abc import Sequence

from .. import mirror, v5, v9
from ..constants import V9_VERSION, Expiry, Skip
from ..engine_api import Config
from ..export import Record
from ..flow import Flow
from ..packet import FlowKey, Packet
from ..routes import RouteLookup
from ..stats import Stats
from ._engine import MIRROR_BUILT, Engine

if MIRROR_BUILT != mirror.fingerprint():  # built from another probe/constants.pxd
    raise ImportError("the compiled engine is older than probe/constants.py: run ci/setup")


class Unsupported(ValueError):
    """The fast engine does not do this (quirks): use the reference engine."""


class FastDatagram:
    """A datagram's bytes; its records (with why each expired) on demand."""

    __slots__ = ("data", "_reasons")

    def __init__(self, data: bytes, reasons: bytes) -> None:
        self.data = data
        self._reasons = reasons  # one Expiry code a record

    @property
    def records(self) -> tuple[Record, ...]:
        if int.from_bytes(self.data[:2], "big") == V9_VERSION:
            fields = [(src, dst, nh, inp, outp, pkts, octets, first, last, sport, dport, flags,
                       proto, tos, smask, dmask)
                      for (src, dst, nh, inp, outp, pkts, octets, first, last, sport, dport, flags,
                           proto, tos, _, _, smask, dmask, _) in v9.records(self.data)]
        else:
            fields = [(src, dst, nh, inp, outp, pkts, octets, first, last, sport, dport, flags,
                       proto, tos, smask, dmask)
                      for (src, dst, nh, inp, outp, pkts, octets, first, last, sport, dport, _,
                           flags, proto, tos, _, _, smask, dmask, _) in v5.records(self.data)]
        return tuple(Record(*f, Expiry(code)) for f, code in zip(fields, self._reasons))


class Flows(Sequence):
    """A view of the engine's flows as `Flow` snapshots (taken when read)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __len__(self) -> int:
        return len(self.engine)

    def __iter__(self):
        return iter(self._snapshots(-1))

    def __getitem__(self, index):
        if isinstance(index, slice):
            stop = index.stop if index.stop is not None and index.stop >= 0 else len(self)
            return self._snapshots(stop)[index]
        return self._snapshots(-1)[index]

    def _snapshots(self, limit: int) -> list[Flow]:
        out = []
        for (src, dst, sport, dport, proto, tos, inp, pkts, octets, first, last, flags, outp,
             nh, smask, dmask) in self.engine.flow_rows(limit):
            f = Flow(FlowKey(src, dst, sport, dport, proto, tos, inp), first)
            f.packets, f.octets, f.last, f.tcp_flags = pkts, octets, last, flags
            f.out_ifindex, f.next_hop, f.src_mask, f.dst_mask = outp, nh, smask, dmask
            out.append(f)
        return out


class FastProbe:
    """Drop-in for `probe.engine.Probe` (no quirks). `start_ms=None` starts the
    probe at the first frame's time (offline mode)."""

    def __init__(self, config: Config, routes: RouteLookup | None = None,
                 start_ms: int | None = 0, stats: Stats | None = None, **table) -> None:
        if config.quirks:
            raise Unsupported(f"the fast engine has no quirks ({', '.join(sorted(config.quirks))})")
        self.config = config
        self._stats = stats if stats is not None else Stats()
        self.engine = e = Engine(
            max_flows=config.max_flows, active_ms=config.active_ms,
            inactive_ms=config.inactive_ms, scan_ms=config.scan_ms,
            engine_type=config.engine_type, engine_id=config.engine_id,
            icmp_ports=config.icmp_ports, outgoing=config.outgoing, routes=routes,
            start_ms=start_ms,
            seed=int.from_bytes(os.urandom(8), "little"),  # no crafted collisions
            export_version=config.export_version, template_ms=config.template_ms,
            template_packets=config.template_packets, template_set=v9.TEMPLATE_SET,
            source_id=v9.source_id(config.engine_type, config.engine_id),
            **table)  # tests: capacity, hash_mask, hash_or
        # the hot calls, without a Python layer in between
        self.handle_frame = e.handle_frame
        self.handle_frames = e.handle_frames
        self.handle_timer = e.handle_timer
        self.walk_pcap = e.walk_pcap

    def handle_packet(self, pkt: Packet, now_ms: int) -> None:
        k = pkt.key
        self.engine.handle_packet(k.src, k.dst, k.sport, k.dport, k.proto, k.tos, k.in_ifindex,
                                  pkt.octets, pkt.tcp_flags, pkt.truncated, now_ms)

    def next_timer_ms(self) -> int:
        return self.engine.next_scan

    def flush(self, now_ms: int, reason: Expiry = Expiry.FLUSH, most: int | None = None) -> bool:
        """Expire every flow (at most `most`: engine_api) and send everything
        (shutdown or on request)."""
        e = self.engine
        if not e.started:  # nothing came in: start now, as the reference driver does
            e.start(now_ms)
        left = e.flush_all(now_ms, Expiry(reason), -1 if most is None else most)
        self.stats  # noqa: B018  (brings the counters up to date for the summary)
        return not left

    def datagrams_to_send(self) -> list[FastDatagram]:
        e = self.engine
        if not e.out:
            return []
        out, e.out = e.out, []
        stats = self.stats
        stats.ifindex_clamped = e.ifindex_clamped  # (the sender counts what is sent)
        return [FastDatagram(data, reasons) for data, reasons in out]

    def has_datagrams(self) -> bool:
        return bool(self.engine.out)

    def set_timeouts(self, active_ms: int | None = None, inactive_ms: int | None = None) -> None:
        for value in (active_ms, inactive_ms):
            if value is not None and value <= 0:
                raise ValueError("timeouts must be positive")
        if active_ms is not None:
            self.engine.active_ms = active_ms
        if inactive_ms is not None:
            self.engine.inactive_ms = inactive_ms

    def timeouts(self) -> tuple[int, int]:
        return self.engine.active_ms, self.engine.inactive_ms

    def flows(self) -> "Flows":
        """The live flows, least recently active first (`len` costs nothing,
        snapshots are made for what is read: a full cache stays cheap to count)."""
        return Flows(self.engine)

    def __len__(self) -> int:
        return len(self.engine)

    @property
    def stats(self) -> Stats:
        """The run's counters, brought up to date with the compiled engine's."""
        e, s = self.engine, self._stats
        s.frames, s.packets, s.octets = e.frames, e.packets, e.octets
        s.truncated, s.flows_created, s.evictions = e.truncated, e.flows_created, e.evictions
        s.active_flows = e.active_flows
        s.skipped.update({Skip(k): v - s.skipped[Skip(k)] for k, v in e.skipped_counts().items()})
        s.exported.update({Expiry(k): v - s.exported[Expiry(k)]
                           for k, v in e.exported_counts().items()})
        return s
