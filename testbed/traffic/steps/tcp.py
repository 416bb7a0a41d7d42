"""`kind: tcp` - a crafted TCP session: handshake, data (each segment ACKed), close.

Both directions are crafted: the client's packets leave the client host, the
server's leave the server host (when it is a lab node), each at its time.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import craft
from ...schema.kinds import spec
from ..plan import Planned, ends_of, pace
from ..send import Crafted
from ..step import BOOLEAN, DPORT, PACKETS, SECONDS, SIZE, SPORT, STEPS, TOS, choice, host_or_address, node


@STEPS.add
@dataclass(frozen=True, kw_only=True)
class Tcp(Crafted):
    kind = "tcp"
    src: str = spec(node, key="from")
    to: str = spec(host_or_address)
    sport: int = spec(SPORT, 40000)
    dport: int = spec(DPORT, 80)
    packets: int = spec(PACKETS, 5)  # data segments from the client
    size: int = spec(SIZE, 100)
    interval: float = spec(SECONDS, 0.01)
    tos: int = spec(TOS, 0)
    close: str = spec(choice("fin", "rst", "none", what="close"), "fin")
    handshake: bool = spec(BOOLEAN, True)

    def plan(self, topo) -> list[Planned]:
        ends = ends_of(topo, self.src, self.to)
        sport, dport = self.sport, self.dport
        tos = self.tos

        def c(flags: str, seq: int, ack: int = 0, data: bytes = b"") -> tuple[str, bytes]:
            return "c", craft.tcp(ends.src, ends.dst, sport, dport, flags, seq, ack, data, tos=tos)

        def s(flags: str, seq: int, ack: int = 0) -> tuple[str, bytes]:
            return "s", craft.tcp(ends.dst, ends.src, dport, sport, flags, seq, ack, tos=tos)
        cseq, sseq = 1000, 5000
        out: list[tuple[str, bytes]] = []  # (direction, packet)
        if self.handshake:
            out += [c("S", cseq), s("SA", sseq, cseq + 1), c("A", cseq + 1, sseq + 1)]
        cseq += 1
        sseq += 1
        for _ in range(self.packets):
            out.append(c("PA", cseq, sseq, b"d" * self.size))
            cseq += self.size
            out.append(s("A", sseq, cseq))
        if self.close == "fin":
            out += [c("FA", cseq, sseq), s("FA", sseq, cseq + 1), c("A", cseq + 1, sseq + 1)]
        elif self.close == "rst":
            out.append(c("R", cseq))
        plans = []
        for i, (who, p) in enumerate(out):
            if who == "s" and ends.dst_node is None:
                continue  # no lab node answers for that address
            plans.append(Planned(pace(i, self.interval), ends.src_node if who == "c" else ends.dst_node, p))
        return plans
