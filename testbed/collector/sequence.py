"""Sequence accounting per exporter (address, engine_type, engine_id), mod 2^32.

flow_sequence counts the records an exporter sent before a datagram, so the
next datagram is expected at previous sequence + previous count. Sequences
are unwrapped into plain ints relative to the highest datagram seen (the
frontier); a jump forward is a gap, remembered so that a late datagram can
fill it. nfcapd's cruder count (compare with the previous datagram received,
whatever it was) is kept alongside so that tests can compare with nfdump.

A datagram that overtakes the exporter's very first one leaves no gap for the
first one to fill: when the first one arrives after all, it is taken as
reordered (not a reset) if it fits before the first datagram received - its
records end there or earlier, without a wrap, and both its sys_uptime and its
export time (unix_secs) are no later. A restarted exporter's datagram is later
by the wall clock, so it stays a reset.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

from testbed.collector.model import DUPLICATE, FIRST, GAP, IN_ORDER, REORDERED, RESET, Header
from testbed.collector.times import MOD, signed32

# A jump forward of this many records that lands exactly on 0 is a restarted
# exporter (whose uptime does not restart, e.g. taken from the host), not loss.
RESTART_JUMP = 1 << 20


class ExporterKey(NamedTuple):
    exporter: str
    engine_type: int
    engine_id: int


@dataclass(frozen=True, slots=True)
class SeqEvent:
    status: str
    missing: int = 0  # gap: records skipped
    filled: int = 0  # reordered: records of an earlier gap now delivered
    reason: str = ""  # reset: why


@dataclass(frozen=True, slots=True)
class ExporterReport:
    exporter: str
    engine_type: int
    engine_id: int
    datagrams: int  # every valid datagram, duplicates included
    records: int  # records in them, duplicates included
    records_lost: int  # skipped and never filled by a late datagram
    gaps: int  # datagrams that followed a gap
    duplicates: int
    reordered: int
    resets: int
    nfcapd_failures: int  # nfcapd's "sequence failures" for the same stream
    first_sequence: int
    next_sequence: int  # expected flow_sequence of the next datagram
    open_gaps: int  # gaps not (fully) filled yet

    @property
    def key(self) -> ExporterKey:
        return ExporterKey(self.exporter, self.engine_type, self.engine_id)


class _State:
    """One exporter's sequence state. Unwrapped positions are ints."""

    def __init__(self, seq: int, count: int, uptime: int, export_ms: int, max_seen: int):
        self.first_sequence = seq
        # the earliest datagram received, while nothing has reset: a late one may precede it
        self.earliest: tuple[int, int, int] | None = (seq, uptime, export_ms)  # position, uptime, export ms
        self.datagrams, self.records = 1, count
        self.lost = self.gaps_seen = self.duplicates = self.reordered = self.resets = 0
        self.nfcapd_failures = 0
        self.last_seq, self.last_count = seq, count  # nfcapd's view: the last datagram received
        self.seen: dict[int, tuple[int, int]] = {}  # position -> (sys_uptime, count)
        self.order: deque[int] = deque()
        self.max_seen = max_seen
        self.restart(seq, count, uptime)

    def restart(self, seq: int, count: int, uptime: int) -> None:
        self.next, self.uptime = seq + count, uptime
        # [start, end, uptime of the datagram before, uptime of the one after]
        self.open: list[list[int]] = []
        self.seen.clear()
        self.order.clear()
        self.remember(seq, uptime, count)

    def remember(self, pos: int, uptime: int, count: int) -> None:
        self.seen[pos] = (uptime, count)
        self.order.append(pos)
        if len(self.order) > self.max_seen:
            self.seen.pop(self.order.popleft(), None)

    def fill(self, pos: int, count: int, uptime: int) -> int | None:
        """Records of an open gap delivered by a late datagram, or None if it fits none.
        Its uptime must lie between those of the datagrams around the gap."""
        for i, (start, end, up_before, up_after) in enumerate(self.open):
            if start <= pos < end and signed32(uptime - up_before) >= 0 and signed32(up_after - uptime) >= 0:
                stop = min(pos + count, end)
                parts = [p for p in ([start, pos, up_before, uptime], [stop, end, uptime, up_after])
                         if p[0] < p[1]]
                self.open[i:i + 1] = parts
                return stop - pos
        return None

    def precede(self, pos: int, seq: int, count: int, uptime: int, export_ms: int) -> int | None:
        """A late datagram from before the earliest one received (that one overtook it,
        so no gap was open for it): the records between the two, if any, are a gap now.
        Returns how many; None if it does not fit before the earliest one."""
        if self.earliest is None:
            return None
        first, first_uptime, first_export = self.earliest
        if (pos + count > first or seq + count > self.first_sequence  # after it, or across a wrap
                or signed32(first_uptime - uptime) < 0 or export_ms > first_export):
            return None
        missing = first - pos - count
        if missing:
            self.open.insert(0, [pos + count, first, uptime, first_uptime])
            self.lost += missing
            self.gaps_seen += 1
        self.earliest, self.first_sequence = (pos, uptime, export_ms), seq
        self.remember(pos, uptime, count)
        return missing


class SequenceTracker:
    def __init__(self, max_open_gaps: int = 1024, max_seen: int = 4096):
        self._states: dict[ExporterKey, _State] = {}
        self._max_open_gaps = max_open_gaps
        self._max_seen = max_seen

    def observe(self, exporter: str, h: Header) -> SeqEvent:
        key = ExporterKey(exporter, h.engine_type, h.engine_id)
        seq, count, uptime = h.flow_sequence, h.count, h.sys_uptime
        st = self._states.get(key)
        if st is None:  # starts the count, whatever its sequence (0 for a fresh probe)
            self._states[key] = _State(seq, count, uptime, h.export_ms, self._max_seen)
            return SeqEvent(FIRST)
        st.datagrams += 1
        st.records += count
        if (seq - st.last_seq) % MOD != st.last_count:
            st.nfcapd_failures += 1
        st.last_seq, st.last_count = seq, count

        delta = signed32(seq - st.next)
        pos = st.next + delta
        if st.seen.get(pos) == (uptime, count):
            st.duplicates += 1
            return SeqEvent(DUPLICATE)
        if delta < 0:
            filled = st.fill(pos, count, uptime)
            if filled is not None:
                st.reordered += 1
                st.lost -= filled
                st.remember(pos, uptime, count)
                return SeqEvent(REORDERED, filled=filled)
            missing = st.precede(pos, seq, count, uptime, h.export_ms)
            if missing is not None:
                st.reordered += 1
                return SeqEvent(REORDERED, missing=missing)
        if signed32(uptime - st.uptime) < 0:
            return self._reset(st, seq, count, uptime, f"sys_uptime went back from {st.uptime} to {uptime}")
        if delta < 0:
            why = "sequence restarted at 0" if seq == 0 else f"sequence went back {-delta} records"
            return self._reset(st, seq, count, uptime, why)
        if seq == 0 and delta >= RESTART_JUMP:
            return self._reset(st, seq, count, uptime, "sequence restarted at 0")
        st.remember(pos, uptime, count)
        if delta:
            st.open.append([st.next, pos, st.uptime, uptime])
            del st.open[:-self._max_open_gaps]  # the oldest stay lost for good
            st.lost += delta
            st.gaps_seen += 1
        st.next, st.uptime = pos + count, uptime
        return SeqEvent(GAP, missing=delta) if delta else SeqEvent(IN_ORDER)

    @staticmethod
    def _reset(st: _State, seq: int, count: int, uptime: int, why: str) -> SeqEvent:
        st.resets += 1
        st.earliest = None  # a new run of the exporter: nothing before it is late
        st.restart(seq, count, uptime)  # open gaps stay counted as lost
        return SeqEvent(RESET, reason=why)

    def reports(self) -> list[ExporterReport]:
        return [ExporterReport(k.exporter, k.engine_type, k.engine_id, s.datagrams, s.records, s.lost,
                               s.gaps_seen, s.duplicates, s.reordered, s.resets, s.nfcapd_failures,
                               s.first_sequence, s.next % MOD, len(s.open))
                for k, s in sorted(self._states.items())]
