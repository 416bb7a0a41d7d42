"""`kind: fragments` - datagrams cut into IP fragments of `fragsize` payload bytes,
or with a first fragment of exactly `first_fragment_payload` bytes (too short for
the L4 header when under 8 for UDP, 20 for TCP)."""
from __future__ import annotations

from dataclasses import dataclass

from .. import craft
from ...schema.kinds import plain, spec
from ..plan import Planned, ends_of, pace
from ..send import Crafted
from ..step import DPORT, PACKETS, SECONDS, SIZE, SPORT, STEPS, TOS, choice, host_or_address, node


def _multiple_of_8(lo: int):
    def read(r, y):
        v = r.integer(y, lo, 65535, "a fragment payload size")
        if v is not None and v % 8:
            r.error(y, f"fragment payload sizes are multiples of 8 bytes, got {v}")
            return None
        return v
    return plain(read)


@STEPS.add
@dataclass(frozen=True, kw_only=True)
class Fragments(Crafted):
    kind = "fragments"
    src: str = spec(node, key="from")
    to: str = spec(host_or_address)
    sport: int = spec(SPORT, 40001)
    dport: int = spec(DPORT, 5001)
    packets: int = spec(PACKETS, 1)  # datagrams, each cut into fragments
    size: int = spec(SIZE, 3000)
    interval: float = spec(SECONDS, 0.01)
    tos: int = spec(TOS, 0)
    fragsize: int = spec(_multiple_of_8(8), 1000)
    first_fragment_payload: int | None = spec(_multiple_of_8(0), None)
    proto: str = spec(choice("tcp", "udp", what="protocol"), "udp")

    def plan(self, topo) -> list[Planned]:
        ends = ends_of(topo, self.src, self.to)
        first = self.first_fragment_payload
        plans, i = [], 0
        for n in range(self.packets):
            data, ip = b"f" * self.size, {"tos": self.tos, "ident": 0x1000 + n}
            dgram = (craft.tcp(ends.src, ends.dst, self.sport, self.dport, "PA", payload=data, **ip)
                     if self.proto == "tcp" else craft.udp(ends.src, ends.dst, self.sport, self.dport, data, **ip))
            frags = (craft.fragments(dgram, [first, len(dgram)]) if first is not None
                     else craft.fragment(dgram, self.fragsize))
            for f in frags:
                plans.append(Planned(pace(i, self.interval), ends.src_node, f))
                i += 1
        return plans
