"""What the fuzzers feed: four targets, each a check of one input plus its seeds.

A check takes any bytes and either returns (the input was handled as the
contract says) or raises: an unexpected exception is a crash, an
AssertionError a broken property. The properties:
* decode: every frame of the input is accounted or skipped by a reason
  (frames = packets + skipped), and what is exported adds up to what was
  accounted (records carry every packet and octet); a packet's facts are in range.
* pcap: a capture file yields frames or one PcapError whose message is one
  line; the frames read feed a probe with the same conservation.
* collector: each datagram is decoded or counted as malformed for a reason,
  never as a bug of the collector; records add up to the headers' counts.
* yaml: a lab file gives a Topology or problems, each one `file:line: ...`
  line; nothing else escapes.
"""
from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from probe.constants import DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW, GSO_MAX_SIZE, Expiry, Skip
from probe.decode import decode
from probe.engine import Config, Probe
from probe.offline import run_file
from probe.packet import Packet
from probe.pcapfile import PcapError
from testbed.collector import Collector
from testbed.topology import TopologyError, loads

ROOT = Path(__file__).resolve().parents[2]
LINKTYPES = (DLT_EN10MB, DLT_RAW, DLT_LINUX_SLL, DLT_LINUX_SLL2)


@dataclass(frozen=True)
class Target:
    check: Callable[[bytes], None]
    seeds: Callable[[], list[bytes]]
    max_len: int


# -- the frame decoder (through the whole engine) ------------------------------

def _frames(data: bytes) -> list[tuple[int, bytes, int]]:
    """An input as (linktype, frame, length on the wire)s: [selector byte, length
    byte, frame]...; the selector's low 2 bits choose the link type, the next 2 the
    length on the wire (0: the frame's; the frame's; 100,000 more; 2^32 - 1)."""
    out, pos = [], 0
    while pos + 2 <= len(data):
        sel, n = data[pos], data[pos + 1]
        frame = data[pos + 2:pos + 2 + n]
        wire_len = (0, len(frame), len(frame) + 100_000, 2**32 - 1)[(sel >> 2) & 3]
        out.append((LINKTYPES[sel % len(LINKTYPES)], frame, wire_len))
        pos += 2 + n
    return out


def check_decode(data: bytes) -> None:
    probe = Probe(Config(max_flows=4), start_ms=0)  # a tiny cache: evictions too
    exported = [0, 0]

    def take() -> None:
        for d in probe.datagrams_to_send():
            exported[0] += sum(r.packets for r in d.records)
            exported[1] += sum(r.octets for r in d.records)

    for t, (linktype, frame, wire_len) in enumerate(_frames(data)):
        check_packet(decode(frame, linktype, t % 3, True, wire_len))
        probe.handle_frame(frame, linktype, t % 3, t * 700, wire_len)
        take()
    probe.flush(10**9, Expiry.SHUTDOWN)
    take()
    s = probe.stats
    assert s.frames == s.packets + sum(s.skipped.values()), s
    assert exported == [s.packets, s.octets], (exported, s)
    assert s.active_flows == 0 and sum(s.exported.values()) == s.flows_created


def check_packet(pkt: Packet | Skip) -> None:
    if isinstance(pkt, Skip):
        return
    k = pkt.key
    assert 0 <= k.sport < 65536 and 0 <= k.dport < 65536 and 0 <= k.proto < 256 and 0 <= k.tos < 256
    assert 20 <= pkt.octets <= GSO_MAX_SIZE and 0 <= pkt.tcp_flags < 256


def _frame_seeds() -> list[bytes]:
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.l2 import CookedLinux, Dot1Q, Ether

    ips = [IP(src="10.0.1.1", dst="10.0.2.2") / TCP(flags="S"), IP() / UDP(sport=1, dport=2) / (b"x" * 30),
           IP(flags="MF", frag=0) / b"\x04\xd2", IP(frag=100) / (b"y" * 8), IP() / ICMP(type=3, code=1),
           IP(ihl=6, options=b"\x01\x01\x01\x00") / TCP()]
    out = []
    for ip in ips:
        raw = bytes(ip)
        frames = [(0, bytes(Ether() / ip)), (0, bytes(Ether() / Dot1Q(vlan=3) / ip)), (1, raw),
                  (2, bytes(CookedLinux(proto=0x0800) / ip)),
                  (2, bytes(CookedLinux(proto=0x8100)) + b"\0\x03\x08\x00" + raw),  # a VLAN tag
                  (2, bytes(CookedLinux(pkttype=4, proto=0x0800) / ip)),  # outgoing
                  (3, struct.pack("!HHIHBB8s", 0x0800, 0, 7, 1, 0, 6, bytes(8)) + raw),
                  (3, struct.pack("!HHIHBB8s", 0x0800, 0, 7, 1, 4, 6, bytes(8)) + raw)]  # outgoing
        out.append(b"".join(bytes([sel, len(f)]) + f for sel, f in frames if len(f) < 256))
    big_tcp = bytearray(bytes(IP(src="10.0.1.1", dst="10.0.2.2") / TCP(flags="A")))
    big_tcp[2:4] = b"\0\0"  # BIG TCP: total length 0, then the length on the wire
    out.append(b"".join(bytes([1 | wire << 2, len(big_tcp)]) + big_tcp for wire in range(4)))
    return out


# -- the capture file reader ----------------------------------------------------

def check_pcap(data: bytes) -> None:
    probe_box: list[Probe] = []
    sent = [0]

    def make(start: int) -> Probe:
        probe_box.append(Probe(Config(max_flows=8), start_ms=start))
        return probe_box[0]

    def send(d) -> None:
        sent[0] += sum(r.packets for r in d.records)

    try:
        run_file(io.BytesIO(data), make, send)
    except PcapError as exc:
        assert "\n" not in str(exc) and str(exc), repr(exc)
    s = probe_box[0].stats
    assert s.frames == s.packets + sum(s.skipped.values()) and sent[0] == s.packets, s


def _pcap_seeds() -> list[bytes]:
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    sample = (ROOT / "samples" / "quickstart.pcap").read_bytes()
    frame = bytes(Ether() / IP(src="10.0.0.1") / UDP() / (b"z" * 10))

    def block(btype: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    ng = (block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
          + block(1, struct.pack("<HHI", 1, 0, 0) + struct.pack("<HH4s", 2, 4, b"eth0")
                  + struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0))
          + block(1, struct.pack("<HHI", 276, 0, 0))
          + block(6, struct.pack("<IIIII", 0, 0, 5, len(frame), len(frame)) + frame)
          + block(3, struct.pack("<I", len(frame)) + frame)
          + block(6, struct.pack("<IIIII", 1, 0, 6, 24, 100) + struct.pack("!HHIHBB8s", 0x0800, 0, 3, 1, 0, 6,
                                                                            bytes(8)) + bytes(4)))
    big_endian = struct.pack(">IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 0x24000001) + \
        struct.pack(">IIII", 1, 2, len(frame), len(frame)) + frame
    return [sample, ng, big_endian]


# -- the collector's v5 decoder ---------------------------------------------------

def check_collector(data: bytes) -> None:
    c = Collector()
    pieces = [data[i:i + 1464] for i in range(0, len(data), 1464)] or [b""]
    for n, piece in enumerate(pieces):
        got = c.receive(piece, ("10.0.9.1", 2055), 1_700_000_000_000 + n)
        assert (got.datagram is None) != (got.malformed is None)
    s = c.summary()
    assert "collector-bug" not in s.malformed, s.malformed
    assert s.datagrams + s.malformed_total == len(pieces)
    assert s.records == sum(d.header.count for d in c.datagrams) == len(c.records)


def _collector_seeds() -> list[bytes]:
    probe = Probe(Config(), start_ms=1_700_000_000_000)
    from probe.packet import FlowKey

    for i in range(47):
        probe.handle_packet(Packet(FlowKey(i, i + 1, i, 80, (6, 17, 1)[i % 3], 0, 2), 60 + i, 0x12), probe._now)
    probe.flush(1_700_000_001_000)
    return [d.data for d in probe.datagrams_to_send()] + [b"\x00\x05\x00\x00"]


# -- the lab file loader ------------------------------------------------------------

def check_yaml(data: bytes) -> None:
    text = data.decode("utf-8", "surrogateescape")  # as load() reads a file
    try:
        loads(text, source="lab.yaml", base_dir=ROOT)
    except TopologyError as exc:
        assert exc.problems
        for p in exc.problems:
            line = str(p)
            assert "\n" not in line and line.startswith("lab.yaml:") and p.line >= 1, line


def _yaml_seeds() -> list[bytes]:
    files = sorted((ROOT / "topologies").rglob("*.yaml")) + sorted((ROOT / "tests/testbed/invalid").glob("*.yaml"))
    return [f.read_bytes() for f in files]


TARGETS = {
    "decode": Target(check_decode, _frame_seeds, 4096),
    "pcap": Target(check_pcap, _pcap_seeds, 8192),
    "collector": Target(check_collector, _collector_seeds, 4096),
    "yaml": Target(check_yaml, _yaml_seeds, 8192),
}
