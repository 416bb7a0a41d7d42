"""Sequence accounting per export stream, mod 2^32.

v5 counts the records an exporter sent before a datagram, per (address,
engine_type, engine_id): the next datagram is expected at previous sequence +
previous count. v9 counts export packets per (address, source id), IPFIX
data records per (address, port, observation domain) (seqrules.py). Sequences
are unwrapped into plain ints relative to the highest datagram seen (the
frontier); a jump forward is a gap, remembered so that a late datagram can
fill it. nfcapd's cruder count (compare with the previous datagram received,
whatever it was) is kept alongside so that tests can compare with nfdump.

v9 and IPFIX streams are followed under every rule of seqrules.py at once:
the protocol's rule judges them unless another explains the stream with
fewer gaps and resets - then the exporter counts the wrong thing, a finding
says what, and that rule's accounting is reported (not loss).

A datagram that overtakes the exporter's very first one leaves no gap for the
first one to fill: when the first one arrives after all, it is taken as
reordered (not a reset) if it fits before the first datagram received - its
records end there or earlier, without a wrap, and both its uptime and its
export time are no later. A restarted exporter's datagram is later by the
wall clock, so it stays a reset.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

from testbed.collector.model import (DUPLICATE, FIRST, GAP, IN_ORDER, REORDERED, RESET, Finding, Header,
                                     SetCounts)
from testbed.collector.seqrules import RULES, Rule, position
from testbed.collector.times import MOD, signed32

# A jump forward of this many records that lands exactly on 0 is a restarted
# exporter (whose uptime does not restart, e.g. taken from the host), not loss.
RESTART_JUMP = 1 << 20


class ExporterKey(NamedTuple):
    exporter: str
    engine_type: int
    engine_id: int


class Stream(NamedTuple):
    """One export stream: what its sequence numbers count along."""

    exporter: str
    version: int
    port: int  # IPFIX: its transport session's port; 0 for v5 and v9 (RFC 3954 5.1: address and source id)
    domain: int  # v5: engine_type << 8 | engine_id; v9: source id; IPFIX: observation domain

    def __str__(self) -> str:
        if self.version == 5:
            return f"{self.exporter} engine {self.domain >> 8}/{self.domain & 0xFF}"
        if self.version == 9:
            return f"{self.exporter} v9 source id {self.domain}"
        return f"{self.exporter}:{self.port} IPFIX domain {self.domain}"


def stream_of(exporter: str, port: int, h: Header) -> Stream:
    return Stream(exporter, h.version, port if h.version == 10 else 0, h.domain)


@dataclass(frozen=True, slots=True)
class SeqEvent:
    status: str
    missing: int = 0  # gap: records skipped
    filled: int = 0  # reordered: records of an earlier gap now delivered
    reason: str = ""  # reset: why
    notes: tuple[Finding, ...] = ()  # e.g. what the exporter's numbers count instead


@dataclass(frozen=True, slots=True)
class ExporterReport:
    exporter: str
    engine_type: int
    engine_id: int
    datagrams: int  # every valid datagram, duplicates included
    records: int  # records in them, duplicates included
    records_lost: int  # skipped and never filled by a late datagram (in `unit`s)
    gaps: int  # datagrams that followed a gap
    duplicates: int
    reordered: int
    resets: int
    nfcapd_failures: int  # nfcapd's "sequence failures" for the same stream
    first_sequence: int  # where the stream's count started (under `counting`'s rule)
    next_sequence: int  # expected flow_sequence of the next datagram
    open_gaps: int  # gaps not (fully) filled yet
    version: int = 5
    port: int = 0
    domain: int = 0
    unit: str = "records"  # what the sequence counts: records, or datagrams (v9)
    counting: str = ""  # what the exporter's numbers count when it is not its protocol's rule

    @property
    def key(self) -> ExporterKey:
        return ExporterKey(self.exporter, self.engine_type, self.engine_id)

    @property
    def stream(self) -> Stream:
        return Stream(self.exporter, self.version, self.port, self.domain)


class StreamCounter:
    """One stream's accounting under one counting rule. Unwrapped positions are ints.
    `uptime` is what must not go back (v5/v9 sys_uptime, IPFIX export seconds)."""

    def __init__(self, max_open_gaps: int = 1024, max_seen: int = 4096):
        self.max_open_gaps, self.max_seen = max_open_gaps, max_seen
        self.started = False
        self.first_sequence = 0
        # the earliest datagram received, while nothing has reset: a late one may precede it
        self.earliest: tuple[int, int, int] | None = None  # position, uptime, export ms
        self.datagrams = self.records = 0
        self.lost = self.gaps_seen = self.duplicates = self.reordered = self.resets = 0
        # position -> (uptime, count, export ms): a duplicate repeats all three (a restarted
        # exporter can send the same sequence, count and even uptime, never at the same time)
        self.seen: dict[int, tuple[int, int | None, int]] = {}
        self.order: deque[int] = deque()
        self.next: int | None = 0  # None: the last datagram's count is unknown
        self.uptime = 0
        self.open: list[list[int]] = []  # [start, end, uptime of the datagram before, of the one after]

    @property
    def anomalies(self) -> int:
        """What a wrong counting rule makes of a whole stream (real ones are there under every rule)."""
        return self.gaps_seen + self.resets + self.duplicates + self.reordered

    def observe(self, seq: int, count: int | None, uptime: int, export_ms: int) -> SeqEvent:
        self.datagrams += 1
        self.records += count or 0
        if not self.started:  # starts the count, whatever its sequence (0 for a fresh probe)
            self.started, self.first_sequence = True, seq
            self.earliest = (seq, uptime, export_ms)
            self._restart(seq, count, uptime, export_ms)
            return SeqEvent(FIRST)
        if self.next is None:  # the last one's size is unknown: this one says where it ended
            base = self.order[-1] if self.order else 0
            self.next = base + max(0, signed32(seq - base))
        delta = signed32(seq - self.next)
        pos = self.next + delta
        if self.seen.get(pos) == (uptime, count, export_ms):
            self.duplicates += 1
            return SeqEvent(DUPLICATE)
        if delta < 0 and count is not None:
            filled = self._fill(pos, count, uptime)
            if filled is not None:
                self.reordered += 1
                self.lost -= filled
                self._remember(pos, uptime, count, export_ms)
                return SeqEvent(REORDERED, filled=filled)
            missing = self._precede(pos, seq, count, uptime, export_ms)
            if missing is not None:
                self.reordered += 1
                return SeqEvent(REORDERED, missing=missing)
        if signed32(uptime - self.uptime) < 0:
            why = f"sys_uptime went back from {self.uptime} to {uptime}"
            return self._reset(seq, count, uptime, export_ms, why)
        if delta < 0:
            why = "sequence restarted at 0" if seq == 0 else f"sequence went back {-delta} records"
            return self._reset(seq, count, uptime, export_ms, why)
        if seq == 0 and delta >= RESTART_JUMP:
            return self._reset(seq, count, uptime, export_ms, "sequence restarted at 0")
        self._remember(pos, uptime, count, export_ms)
        if delta:
            self.open.append([self.next, pos, self.uptime, uptime])
            del self.open[:-self.max_open_gaps]  # the oldest stay lost for good
            self.lost += delta
            self.gaps_seen += 1
        self.next, self.uptime = (None if count is None else pos + count), uptime
        return SeqEvent(GAP, missing=delta) if delta else SeqEvent(IN_ORDER)

    def _restart(self, seq: int, count: int | None, uptime: int, export_ms: int) -> None:
        self.next, self.uptime = (None if count is None else seq + count), uptime
        self.open = []
        self.seen.clear()
        self.order.clear()
        self._remember(seq, uptime, count, export_ms)

    def _remember(self, pos: int, uptime: int, count: int | None, export_ms: int) -> None:
        self.seen[pos] = (uptime, count, export_ms)
        self.order.append(pos)
        if len(self.order) > self.max_seen:
            self.seen.pop(self.order.popleft(), None)

    def _fill(self, pos: int, count: int, uptime: int) -> int | None:
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

    def _precede(self, pos: int, seq: int, count: int, uptime: int, export_ms: int) -> int | None:
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
        self._remember(pos, uptime, count, export_ms)
        return missing

    def _reset(self, seq: int, count: int | None, uptime: int, export_ms: int, why: str) -> SeqEvent:
        self.resets += 1
        self.earliest = None  # a new run of the exporter: nothing before it is late
        self._restart(seq, count, uptime, export_ms)  # open gaps stay counted as lost
        return SeqEvent(RESET, reason=why)


class _Followed:
    """A v9/IPFIX stream under every rule at once, and nfcapd's count of it. A rule that
    has proved wrong (PRUNE more anomalies than the best) stops being followed; the
    protocol's own stays, to say what it would have found."""

    PRUNE, EVERY = 16, 64

    def __init__(self, rules: tuple[Rule, ...], max_open_gaps: int, max_seen: int):
        self.rules = rules
        self.counters = [StreamCounter(max_open_gaps, max_seen) for _ in rules]
        self.alive = list(range(len(rules)))
        self.best = 0
        self.named = False  # a finding said already that it counts the wrong thing
        self.nfcapd_failures = 0
        self.nfcapd_next: int | None = None
        self.records = 0  # data records received (flows and options; not those still held)
        self.datagrams = 0

    def observe(self, h: Header, c: SetCounts, uptime: int) -> SeqEvent:
        self.records += c.flows + c.options
        self.datagrams += 1
        events = {}
        for i in self.alive:
            events[i] = self.counters[i].observe(*position(self.rules[i], h.flow_sequence, c), uptime, h.export_ms)
        self._nfcapd(h, c)
        # the protocol's rule judges, unless a wrong one explains the stream better
        # (ties: the rule under which the stream starts at 0 explains its first datagram too)
        self.best = min(self.alive, key=lambda i: (
            self.counters[i].anomalies, not self.rules[i].conforms, self.counters[i].first_sequence != 0, i))
        if self.datagrams % self.EVERY == 0:
            low = self.counters[self.best].anomalies
            self.alive = [i for i in self.alive if i == 0 or self.counters[i].anomalies < low + self.PRUNE]
        event = events[self.best]
        rule = self.rules[self.best]
        if not rule.conforms and not self.named:
            self.named = True
            own, k = self.rules[0], self.counters[self.best]
            event = SeqEvent(event.status, event.missing, event.filled, event.reason, (Finding(
                "sequence-counting",
                f"the sequence numbers count {rule.text}: that explains all {k.datagrams} datagrams so far with "
                f"{k.anomalies} gaps, resets, duplicates or reorders, where counting {own.text} finds "
                f"{self.counters[0].anomalies}; judged by what it counts, not as loss"),))
        return event

    def _nfcapd(self, h: Header, c: SetCounts) -> None:
        """nfcapd 1.7: v9 expects +1 per packet; IPFIX expects the last number plus the
        data-template records it decoded, once it has decoded a data set."""
        seq = h.flow_sequence
        if h.version == 9:
            if self.nfcapd_next is not None and seq != self.nfcapd_next:
                self.nfcapd_failures += 1
            self.nfcapd_next = (seq + 1) % MOD
            return
        if self.nfcapd_next is not None and seq != self.nfcapd_next:
            self.nfcapd_failures += 1
        if self.nfcapd_next is not None or c.flows:
            self.nfcapd_next = (seq + c.flows) % MOD

    def report(self, s: Stream) -> ExporterReport:
        k, rule = self.counters[self.best], self.rules[self.best]
        # where the next datagram's records start (its header says more under a rule that
        # counts its own)
        nxt = (k.next if k.next is not None else (k.order[-1] if k.order else 0)) % MOD
        return ExporterReport(s.exporter, 0, 0, k.datagrams, self.records, k.lost, k.gaps_seen, k.duplicates,
                              k.reordered, k.resets, self.nfcapd_failures, k.first_sequence, nxt,
                              len(k.open), s.version, s.port, s.domain, rule.unit,
                              "" if rule.conforms else rule.text)


class _V5:
    def __init__(self, counter: StreamCounter):
        self.counter = counter
        self.nfcapd_failures = 0
        self.last: tuple[int, int] | None = None

    def observe(self, h: Header) -> SeqEvent:
        if self.last is not None and (h.flow_sequence - self.last[0]) % MOD != self.last[1]:
            self.nfcapd_failures += 1
        self.last = (h.flow_sequence, h.count)
        return self.counter.observe(h.flow_sequence, h.count, h.sys_uptime, h.export_ms)

    def report(self, s: Stream) -> ExporterReport:
        k = self.counter
        return ExporterReport(s.exporter, s.domain >> 8, s.domain & 0xFF, k.datagrams, k.records, k.lost,
                              k.gaps_seen, k.duplicates, k.reordered, k.resets, self.nfcapd_failures,
                              k.first_sequence, k.next % MOD, len(k.open), 5, 0, s.domain)


class SequenceTracker:
    def __init__(self, max_open_gaps: int = 1024, max_seen: int = 4096):
        self._streams: dict[Stream, _V5 | _Followed] = {}
        self._max_open_gaps = max_open_gaps
        self._max_seen = max_seen

    def observe(self, exporter: str, h: Header, port: int = 0, contents: SetCounts | None = None) -> SeqEvent:
        """The sequence verdict of one datagram (v9/IPFIX: `contents` says what its sets held)."""
        s = stream_of(exporter, port, h)
        st = self._streams.get(s)
        if st is None:
            if h.version == 5:
                st = _V5(StreamCounter(self._max_open_gaps, self._max_seen))
            else:
                st = _Followed(RULES[h.version], self._max_open_gaps, self._max_seen)
            self._streams[s] = st
        if h.version == 5:
            return st.observe(h)
        # IPFIX has no uptime: its export time must not go back either
        return st.observe(h, contents or SetCounts(), h.sys_uptime if h.version == 9 else h.unix_secs)

    def reports(self) -> list[ExporterReport]:
        return [st.report(s) for s, st in sorted(self._streams.items())]
