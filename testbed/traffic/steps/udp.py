"""`kind: udp` - a crafted UDP stream of `packets` datagrams, `interval` (or `rate`) apart."""
from __future__ import annotations

from dataclasses import dataclass

from ...schema.kinds import spec
from .. import craft
from ..plan import Planned, ends_of, pace
from ..send import Crafted
from ..step import DPORT, PACKETS, RATE, SECONDS, SIZE, SPORT, STEPS, TOS, TTL, host_or_address, node, one_of


@STEPS.add
@dataclass(frozen=True, kw_only=True)
class Udp(Crafted):
    kind = "udp"
    src: str = spec(node, key="from")
    to: str = spec(host_or_address)
    sport: int = spec(SPORT, 40000)
    dport: int = spec(DPORT, 5000)
    packets: int = spec(PACKETS, 10)
    size: int = spec(SIZE, 100)
    interval: float = spec(SECONDS, 0.01)
    rate: float | None = spec(RATE, None)  # packets per second: sets the interval
    tos: int = spec(TOS, 0)
    ttl: int = spec(TTL, 64)

    @classmethod
    def finish(cls, r, known, y, values) -> bool:
        return one_of(r, y, values, "interval", "rate")

    @property
    def gap(self) -> float:
        return 1.0 / self.rate if self.rate else self.interval

    def plan(self, topo) -> list[Planned]:
        ends = ends_of(topo, self.src, self.to)
        p = craft.udp(ends.src, ends.dst, self.sport, self.dport, b"u" * self.size, tos=self.tos, ttl=self.ttl)
        return [Planned(pace(i, self.gap), ends.src_node, p) for i in range(self.packets)]
