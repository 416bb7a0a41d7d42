"""When a replay sends each packet, and the ground truth of it.

`schedule` turns the capture's times into send offsets (as recorded, scaled by
`speed`, or `pps` apart; `loop` times over). `Truth` counts every packet per
flow key before anything is sent, then takes the send times the player
reported: each flow's first and last packet, and how far the sending fell
behind the schedule (its lag), per flow and overall.
"""
from __future__ import annotations

import math

from .fit import Fitted
from .plan import FlowId, FlowTruth


def schedule(ts_ns: list[int], speed: float | None = None, pps: float | None = None,
             loop: int = 1) -> list[float]:
    """Send offsets in seconds for the packets, `loop` times over, in file order
    (a packet never goes before the one ahead of it in the file)."""
    n = len(ts_ns)
    if not n:
        return []
    if pps:
        once = [i / pps for i in range(n)]
        period = n / pps
    else:
        once, prev, t0 = [], 0.0, ts_ns[0]
        for ts in ts_ns:
            prev = max(prev, (ts - t0) / 1e9 / (speed or 1.0))
            once.append(prev)
        # the next round starts one average gap after this one ends
        period = once[-1] + (once[-1] / (n - 1) if n > 1 else 0.0)
    return [k * period + t for k in range(loop) for t in once]


class Truth:
    """Per flow: packets, octets and TCP flags of what will be sent."""

    def __init__(self, packets: list[Fitted], senders: list[str], step: int, loop: int = 1) -> None:
        self.packets, self.loop = packets, loop
        self.flows: dict[FlowId, FlowTruth] = {}
        self.ids: list[FlowId] = []  # of each packet
        for p in packets:
            fid = p.key.flow
            t = self.flows.get(fid)
            if t is None:
                t = self.flows[fid] = FlowTruth(fid, senders[p.way].split(":")[0], step=step)
            t.packets += loop
            t.octets += p.key.octets * loop
            t.flags |= p.key.tcp_flags
            self.ids.append(fid)

    def sent(self, start: float, offsets: list[float], times: list[float]) -> float:
        """Take the player's send times (NaN: not sent); returns the largest lag.
        A packet that was not sent leaves the truth."""
        n, worst = len(self.packets), 0.0
        for i, (t, sent) in enumerate(zip(offsets, times)):
            flow = self.flows[self.ids[i % n]]
            if math.isnan(sent):
                flow.packets -= 1
                flow.octets -= self.packets[i % n].key.octets
                continue
            lag = max(0.0, sent - (start + t))
            worst = max(worst, lag)
            flow.lag = max(flow.lag or 0.0, lag)
            flow.first = sent if flow.first is None else min(flow.first, sent)
            flow.last = sent if flow.last is None else max(flow.last, sent)
            flow.times.append(sent)
        for fid in [f for f, t in self.flows.items() if not t.packets]:
            del self.flows[fid]
        return worst
