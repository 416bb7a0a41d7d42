"""`kind: icmp` - crafted ICMP messages of one type/code (default echo request, 8/0)
from one side only: the destination's kernel answers for itself, if it does."""
from __future__ import annotations

from dataclasses import dataclass

from ...schema.kinds import plain, spec
from .. import craft
from ..plan import Planned, ends_of, pace
from ..send import Crafted
from ..step import PACKETS, SECONDS, SIZE, STEPS, TOS, host_or_address, node


def _byte(what: str):
    return plain(lambda r, y: r.integer(y, 0, 255, what))


@STEPS.add
@dataclass(frozen=True, kw_only=True)
class Icmp(Crafted):
    kind = "icmp"
    src: str = spec(node, key="from")
    to: str = spec(host_or_address)
    packets: int = spec(PACKETS, 3)
    size: int = spec(SIZE, 56)
    interval: float = spec(SECONDS, 0.01)
    tos: int = spec(TOS, 0)
    id: int = spec(plain(lambda r, y: r.integer(y, 0, 65535, "an ICMP id")), 0x4E46)
    icmp_type: int = spec(_byte("an ICMP type"), 8)
    icmp_code: int = spec(_byte("an ICMP code"), 0)

    def plan(self, topo) -> list[Planned]:
        ends = ends_of(topo, self.src, self.to)
        return [Planned(pace(i, self.interval), ends.src_node,
                        craft.icmp(ends.src, ends.dst, self.icmp_type, self.icmp_code, self.id, i,
                                   b"p" * self.size, tos=self.tos))
                for i in range(self.packets)]
