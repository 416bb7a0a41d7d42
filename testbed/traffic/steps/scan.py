"""`kind: scan` - N one-packet flows: a port scan (`to:`) or a host scan (`targets:`)."""
from __future__ import annotations

from dataclasses import dataclass

from .. import craft
from ...schema.kinds import spec
from ..plan import Planned, ends_of, pace
from ..step import COUNT, DPORT, SECONDS, SIZE, SPORT, STEPS, TOS, choice, host_or_address, node
from ..send import Crafted


def _targets(r, known, y, got) -> tuple[str, ...] | None:
    found = [known.host_or_address(r, i) for i in r.sequence(y, "targets")]
    return tuple(found) if found and all(v is not None for v in found) else None


@STEPS.add
@dataclass(frozen=True, kw_only=True)
class Scan(Crafted):
    kind = "scan"
    src: str = spec(node, key="from")
    to: str | None = spec(host_or_address, None)
    targets: tuple[str, ...] | None = spec(_targets, None)
    count: int = spec(COUNT, 100)
    proto: str = spec(choice("tcp", "udp", what="protocol"), "tcp")
    first_port: int = spec(DPORT, 1)
    interval: float = spec(SECONDS, 0.001)
    sport: int = spec(SPORT, 45000)
    size: int = spec(SIZE, 0)
    tos: int = spec(TOS, 0)

    @classmethod
    def finish(cls, r, known, y, values) -> bool:
        if ("to" in values) == ("targets" in values):
            r.error(y, "a scan needs either to: (a port scan) or targets: (a host scan)")
            return False
        return True

    def plan(self, topo) -> list[Planned]:
        targets = ([str(topo.address_of(t)) if t in topo.nodes else t for t in self.targets]
                   if self.targets else None)
        ends = ends_of(topo, self.src, targets[0] if targets else self.to)
        plans = []
        for i in range(self.count):
            dst = targets[i % len(targets)] if targets else ends.dst
            dport = self.first_port + (i if not targets else i // len(targets))
            data = b"s" * self.size
            pkt = (craft.tcp(ends.src, dst, self.sport, dport, "S", payload=data, tos=self.tos)
                   if self.proto == "tcp" else craft.udp(ends.src, dst, self.sport, dport, data, tos=self.tos))
            plans.append(Planned(pace(i, self.interval), ends.src_node, pkt))
        return plans
