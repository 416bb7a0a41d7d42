"""When a replay sends each packet, and the ground truth of it - as the packets come.

`Pacing` gives each packet of the capture its send offset in seconds, in file
order (as recorded, scaled by `speed`, or `pps` apart), and says how long one
round lasts; `loop` rounds follow each other one period apart. `Truth` takes
the fitted packets one by one as the capture is read (nothing of a packet is
kept but its flow, octets and offset: 16 bytes), counts every packet per flow
key before anything is sent, then takes the send times the player reported:
each flow's first and last packet, and how far the sending fell behind the
schedule (its lag), per flow and overall. Memory stays O(packets of one round),
whatever the loop count; `schedule` is the list form, for small inputs.
"""
from __future__ import annotations

import math
from array import array
from typing import Iterable, Iterator

from .fit import Fitted
from .plan import FlowId, FlowTruth


class Pacing:
    """Round-0 send offsets, one packet at a time; then the period of a round."""

    def __init__(self, speed: float | None = None, pps: float | None = None) -> None:
        self.speed, self.pps = speed, pps
        self.n, self.last = 0, 0.0
        self._t0: int | None = None
        self.gap = (0.0, 0)  # the longest wait between two packets (seconds, packet after it)

    def next(self, ts_ns: int) -> float:
        """The offset of the next packet (a packet never goes before the one ahead of it)."""
        if self.pps:
            t = self.n / self.pps
        else:
            if self._t0 is None:
                self._t0 = ts_ns
            t = max(self.last, (ts_ns - self._t0) / 1e9 / (self.speed or 1.0))
        if t - self.last > self.gap[0]:
            self.gap = (t - self.last, self.n)
        self.n += 1
        self.last = t
        return t

    @property
    def period(self) -> float:
        """One round: the next starts one average gap after this one ends."""
        if self.pps:
            return self.n / self.pps
        return self.last + (self.last / (self.n - 1) if self.n > 1 else 0.0)


def schedule(ts_ns: list[int], speed: float | None = None, pps: float | None = None,
             loop: int = 1) -> list[float]:
    """Send offsets in seconds for the packets, `loop` times over, in file order."""
    pace = Pacing(speed, pps)
    once = [pace.next(t) for t in ts_ns]
    return [k * pace.period + t for k in range(loop) for t in once]


class Truth:
    """Per flow: packets, octets and TCP flags of what will be sent, `loop` times over."""

    def __init__(self, senders: list[str], step: int, loop: int = 1, speed: float | None = None,
                 pps: float | None = None) -> None:
        self.senders, self.step, self.loop = senders, step, loop
        self.pacing = Pacing(speed, pps)
        self.flows: dict[FlowId, FlowTruth] = {}
        self.by_way: dict[int, int] = {}  # way -> packets of one round
        self._ids: list[FlowId] = []  # flow number -> its id
        self._number: dict[FlowId, int] = {}
        self._flow, self._octets, self._offset = array("I"), array("I"), array("d")  # per packet

    def add(self, p: Fitted) -> float:
        """One packet of the round, in file order; returns its send offset."""
        fid = p.key.flow
        n = self._number.get(fid)
        if n is None:
            n = self._number[fid] = len(self._ids)
            self._ids.append(fid)
            self.flows[fid] = FlowTruth(fid, self.senders[p.way].split(":")[0], step=self.step)
        t = self.flows[fid]
        t.packets += self.loop
        t.octets += p.key.octets * self.loop
        t.flags |= p.key.tcp_flags
        self.by_way[p.way] = self.by_way.get(p.way, 0) + 1
        offset = self.pacing.next(p.ts_ns)
        self._flow.append(n)
        self._octets.append(p.key.octets)
        self._offset.append(offset)
        return offset

    @property
    def sends(self) -> int:
        return len(self._offset) * self.loop

    @property
    def duration(self) -> float:
        """From the first send to the last."""
        return (self.loop - 1) * self.pacing.period + self.pacing.last if self._offset else 0.0

    def offsets(self) -> Iterator[float]:
        period = self.pacing.period
        for k in range(self.loop):
            for t in self._offset:
                yield k * period + t

    def sent(self, start: float, times: Iterable[float]) -> float:
        """Take the player's send times (NaN: not sent), one per send in order; returns
        the largest lag. A packet that was not sent leaves the truth."""
        worst = 0.0
        for (i, planned), sent in zip(enumerate(self.offsets()), times):
            j = i % len(self._offset)
            flow = self.flows[self._ids[self._flow[j]]]
            if math.isnan(sent):
                flow.packets -= 1
                flow.octets -= self._octets[j]
                continue
            lag = max(0.0, sent - (start + planned))
            worst = max(worst, lag)
            flow.lag = max(flow.lag or 0.0, lag)
            flow.first = sent if flow.first is None else min(flow.first, sent)
            flow.last = sent if flow.last is None else max(flow.last, sent)
            flow.times.append(sent)
        for fid in [f for f, t in self.flows.items() if not t.packets]:
            del self.flows[fid]
        return worst
