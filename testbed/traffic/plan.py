"""Crafted traffic as pure data: a step -> the exact packets each node sends.

Planning before sending gives the ground truth (every flow, its packets and
octets) without trusting the probe or the collector. Both directions of a TCP
session are crafted: the client's packets leave the client host, the server's
leave the server host, each at its planned time.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from scapy.layers.inet import ICMP, IP, TCP, UDP, fragment
from scapy.packet import Raw

PROTOS = {"tcp": 6, "udp": 17, "icmp": 1}


@dataclass(frozen=True)
class Planned:
    t: float  # seconds after the step starts
    node: str  # the node that sends it
    data: bytes  # the IP packet as it leaves the node


@dataclass(frozen=True)
class FlowId:
    src: str
    dst: str
    sport: int
    dport: int
    proto: int
    tos: int

    def __str__(self) -> str:
        name = {6: "tcp", 17: "udp", 1: "icmp"}.get(self.proto, str(self.proto))
        return f"{name} {self.src}:{self.sport} -> {self.dst}:{self.dport}"


@dataclass
class FlowTruth:
    flow: FlowId
    node: str
    packets: int = 0
    octets: int = 0
    first: float | None = None  # unix time of the first and last packet sent
    last: float | None = None
    step: int = -1
    flags: int = 0


def flow_of(data: bytes) -> FlowId:
    """The v5 key fields of a crafted IPv4 packet (ICMP: type*256+code as dport)."""
    ip = IP(data)
    sport = dport = 0
    first_fragment = ip.frag == 0
    if first_fragment and ip.proto in (6, 17) and len(bytes(ip.payload)) >= (20 if ip.proto == 6 else 8):
        l4 = bytes(ip.payload)
        sport, dport = int.from_bytes(l4[0:2], "big"), int.from_bytes(l4[2:4], "big")
    elif first_fragment and ip.proto == 1 and len(bytes(ip.payload)) >= 2:
        l4 = bytes(ip.payload)
        dport = l4[0] * 256 + l4[1]
    return FlowId(ip.src, ip.dst, sport, dport, ip.proto, ip.tos)


def tcp_flags_of(data: bytes) -> int:
    ip = IP(data)
    if ip.proto == 6 and ip.frag == 0 and len(bytes(ip.payload)) >= 20:
        return bytes(ip.payload)[13]
    return 0


@dataclass(frozen=True)
class Ends:
    """Who talks to whom: node names and the addresses they use."""

    src_node: str
    src: str
    dst_node: str | None  # None when the destination is not a lab node
    dst: str


def _pace(i: int, interval: float) -> float:
    return round(i * interval, 6)


def plan_tcp(step: dict, ends: Ends) -> list[Planned]:
    """A TCP session: handshake, data (each segment ACKed), close by fin/rst/none."""
    sport, dport = step.get("sport", 40000), step.get("dport", 80)
    size, count = step.get("size", 100), step.get("packets", 5)
    interval, tos = step.get("interval", 0.01), step.get("tos", 0)
    close, handshake = step.get("close", "fin"), step.get("handshake", True)
    c = IP(src=ends.src, dst=ends.dst, tos=tos)
    s = IP(src=ends.dst, dst=ends.src, tos=tos)
    cseq, sseq = 1000, 5000
    out: list[tuple[str, object]] = []  # (direction, packet)
    if handshake:
        out += [("c", c / TCP(sport=sport, dport=dport, flags="S", seq=cseq)),
                ("s", s / TCP(sport=dport, dport=sport, flags="SA", seq=sseq, ack=cseq + 1)),
                ("c", c / TCP(sport=sport, dport=dport, flags="A", seq=cseq + 1, ack=sseq + 1))]
    cseq += 1
    sseq += 1
    for _ in range(count):
        out.append(("c", c / TCP(sport=sport, dport=dport, flags="PA", seq=cseq, ack=sseq)
                    / Raw(b"d" * size)))
        cseq += size
        out.append(("s", s / TCP(sport=dport, dport=sport, flags="A", seq=sseq, ack=cseq)))
    if close == "fin":
        out += [("c", c / TCP(sport=sport, dport=dport, flags="FA", seq=cseq, ack=sseq)),
                ("s", s / TCP(sport=dport, dport=sport, flags="FA", seq=sseq, ack=cseq + 1)),
                ("c", c / TCP(sport=sport, dport=dport, flags="A", seq=cseq + 1, ack=sseq + 1))]
    elif close == "rst":
        out.append(("c", c / TCP(sport=sport, dport=dport, flags="R", seq=cseq)))
    server = ends.dst_node
    plans = []
    for i, (who, p) in enumerate(out):
        if who == "s" and server is None:
            continue  # no lab node answers for that address
        plans.append(Planned(_pace(i, interval), ends.src_node if who == "c" else server, bytes(p)))
    return plans


def plan_udp(step: dict, ends: Ends) -> list[Planned]:
    sport, dport = step.get("sport", 40000), step.get("dport", 5000)
    size, count = step.get("size", 100), step.get("packets", 10)
    interval, tos = step.get("interval", 0.01), step.get("tos", 0)
    p = bytes(IP(src=ends.src, dst=ends.dst, tos=tos) / UDP(sport=sport, dport=dport) / Raw(b"u" * size))
    return [Planned(_pace(i, interval), ends.src_node, p) for i in range(count)]


def plan_icmp(step: dict, ends: Ends) -> list[Planned]:
    """ICMP messages of `icmp_type`/`icmp_code` (default: echo requests, 8/0) from one
    side only: the destination's kernel answers for itself, if it does."""
    size, count = step.get("size", 56), step.get("packets", 3)
    interval, tos = step.get("interval", 0.01), step.get("tos", 0)
    ident = step.get("id", 0x4E46)
    kind, code = step.get("icmp_type", 8), step.get("icmp_code", 0)
    return [Planned(_pace(i, interval), ends.src_node,
                    bytes(IP(src=ends.src, dst=ends.dst, tos=tos)
                          / ICMP(type=kind, code=code, id=ident, seq=i) / Raw(b"p" * size)))
            for i in range(count)]


def plan_fragments(step: dict, ends: Ends) -> list[Planned]:
    """Datagrams cut into IP fragments of `fragsize` bytes of payload, or with a
    first fragment of exactly `first_fragment_payload` bytes (too short for the
    L4 header when under 8 for UDP, 20 for TCP)."""
    size, count = step.get("size", 3000), step.get("packets", 1)
    fragsize, interval = step.get("fragsize", 1000), step.get("interval", 0.01)
    sport, dport, tos = step.get("sport", 40001), step.get("dport", 5001), step.get("tos", 0)
    proto = step.get("proto", "udp")
    first_payload = step.get("first_fragment_payload")
    plans, i = [], 0
    for n in range(count):
        ip = IP(src=ends.src, dst=ends.dst, tos=tos, id=0x1000 + n)
        l4 = TCP(sport=sport, dport=dport, flags="PA") if proto == "tcp" else UDP(sport=sport, dport=dport)
        dgram = IP(bytes(ip / l4 / Raw(b"f" * size)))
        if first_payload is not None:
            payload = bytes(dgram.payload)
            frags = [ip.copy() / Raw(payload[:first_payload]),
                     ip.copy() / Raw(payload[first_payload:])]
            frags[0].flags, frags[0].proto = "MF", dgram.proto
            frags[1].frag, frags[1].proto = first_payload // 8, dgram.proto
        else:
            frags = fragment(dgram, fragsize=fragsize)
        for f in frags:
            plans.append(Planned(_pace(i, interval), ends.src_node, bytes(f)))
            i += 1
    return plans


def plan_scan(step: dict, ends: Ends, targets: list[str] | None = None) -> list[Planned]:
    """N one-packet flows: a port scan (one destination) or a host scan (`targets`)."""
    count, proto = step.get("count", 100), step.get("proto", "tcp")
    first_port, interval = step.get("first_port", 1), step.get("interval", 0.001)
    sport, size, tos = step.get("sport", 45000), step.get("size", 0), step.get("tos", 0)
    plans = []
    for i in range(count):
        dst = targets[i % len(targets)] if targets else ends.dst
        dport = first_port + (i if not targets else i // len(targets))
        l4 = TCP(sport=sport, dport=dport, flags="S") if proto == "tcp" else UDP(sport=sport, dport=dport)
        pkt = IP(src=ends.src, dst=dst, tos=tos) / l4
        if size:
            pkt = pkt / Raw(b"s" * size)
        plans.append(Planned(_pace(i, interval), ends.src_node, bytes(pkt)))
    return plans


def truth_of(plans: list[Planned], step_index: int) -> dict[FlowId, FlowTruth]:
    """Expected flows of planned packets (before sending: no times yet)."""
    flows: dict[FlowId, FlowTruth] = {}
    for p in plans:
        fid = flow_of(p.data)
        t = flows.get(fid)
        if t is None:
            t = flows[fid] = FlowTruth(fid, p.node, step=step_index)
        t.packets += 1
        t.octets += len(p.data)
        t.flags |= tcp_flags_of(p.data)
    return flows


def split_by_node(plans: list[Planned]) -> dict[str, list[Planned]]:
    by_node: dict[str, list[Planned]] = defaultdict(list)
    for p in plans:
        by_node[p.node].append(p)
    return dict(by_node)
