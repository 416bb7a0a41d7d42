"""`kind: fragments` - datagrams cut into IP fragments of `fragsize` payload bytes,
or with a first fragment of exactly `first_fragment_payload` bytes (too short for
the L4 header when under 8 for UDP, 20 for TCP)."""
from __future__ import annotations

from dataclasses import dataclass

from scapy.layers.inet import IP, TCP, UDP, fragment
from scapy.packet import Raw

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
            ip = IP(src=ends.src, dst=ends.dst, tos=self.tos, id=0x1000 + n)
            l4 = (TCP(sport=self.sport, dport=self.dport, flags="PA") if self.proto == "tcp"
                  else UDP(sport=self.sport, dport=self.dport))
            dgram = IP(bytes(ip / l4 / Raw(b"f" * self.size)))
            if first is not None:
                payload = bytes(dgram.payload)
                frags = [ip.copy() / Raw(payload[:first]), ip.copy() / Raw(payload[first:])]
                frags[0].flags, frags[0].proto = "MF", dgram.proto
                frags[1].frag, frags[1].proto = first // 8, dgram.proto
            else:
                frags = fragment(dgram, fragsize=self.fragsize)
            for f in frags:
                plans.append(Planned(pace(i, self.interval), ends.src_node, bytes(f)))
                i += 1
        return plans
