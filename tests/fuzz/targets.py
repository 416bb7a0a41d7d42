"""What the fuzzers feed: six targets, each a check of one input plus its seeds.

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
* v9, ipfix: datagrams as they are, or built around the input (templates,
  options templates, withdrawals, data sets) across domains and exporter
  ports, interleaved as the input says: each is decoded or malformed for a
  reason, never a collector bug; every record comes from a data set decoded
  when it came or held until its template did; held sets and templates stay
  within their caps; whatever is held is decoded or counted undecodable by the
  end; every JSON line and text line is made.
* yaml: a lab file gives a Topology or problems, each one `file:line: ...`
  line; nothing else escapes.
"""
from __future__ import annotations

import io
import json
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
from testbed.collector import Collector, jsonl, text
from testbed.collector.templated import Caps
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


# -- the collector's v9 and IPFIX decoders: templates, withdrawals and data, interleaved ---

CAPS = Caps(max_templates=12, max_template_fields=200, held_sets=6, held_bytes=3000, hold_ms=2000)


def _set(set_id: int, body: bytes) -> bytes:
    return struct.pack("!HH", set_id, 4 + len(body)) + body


def _fields(body: bytes, enterprise: bool) -> bytes:
    """Field specifiers out of the input: element ids < 400, lengths 0-8 or variable, some PENs."""
    out = b""
    for i in range(0, len(body) - 3, 4):
        ident, length = struct.unpack_from("!HH", body, i)
        length = 0xFFFF if length >= 0xFF00 else length % 9
        if enterprise and ident & 0x8000:
            out += struct.pack("!HHI", 0x8000 | ident % 400, length, 29305 if ident & 1 else 9)
        else:
            out += struct.pack("!HH", ident % 400, length)
    return out


def _piece(version: int, kind: int, body: bytes) -> bytes:
    """The sets of one datagram: kind 1 templates, 2 data, 3 withdrawals (v9: options templates)."""
    tid = 256 + (body[0] % 6 if body else 0)
    rest = body[1:]
    if kind == 2:
        return _set(tid, rest)
    if version == 10 and kind == 3:
        return _set(2 + (rest[:1] == b"\3"), b"".join(struct.pack("!HH", 256 + b % 6 if b % 7 else 2, 0)
                                                         for b in rest[:4]))
    specs = _fields(rest, version == 10)
    n = len(rest) // 4
    if version == 9 and kind == 3:
        scope = struct.pack("!HH", 2, 4)
        return _set(1, struct.pack("!HHH", tid, 4, len(specs)) + scope + specs + b"\0\0")
    if version == 10 and body[:1] and body[0] & 0x80 and n:  # an options template
        return _set(3, struct.pack("!HHH", tid, n, 1 + body[0] % n) + specs)
    return _set(0 if version == 9 else 2, struct.pack("!HH", tid, n) + specs)


def _datagrams(data: bytes, version: int) -> list[tuple[bytes, tuple[str, int], int]]:
    """An input as (datagram, source, receive ms): [selector, length, body]...; the selector's
    low 2 bits: 0 the body is a whole datagram, else the kind of piece to build around it;
    bits 2-3 the domain, bit 4 the exporter's port, bits 5-7 how long after the last one."""
    out, pos, seq, now = [], 0, 0, 1_790_000_000_000
    while pos + 2 <= len(data):
        sel, n = data[pos], data[pos + 1]
        body = data[pos + 2:pos + 2 + n]
        pos += 2 + n
        now += (sel >> 5) * 700
        source = ("10.0.9.1", 4739 + ((sel >> 4) & 1))
        if sel & 3 == 0:
            out.append((body, source, now))
            continue
        sets = _piece(version, sel & 3, body)
        domain = (sel >> 2) & 3
        if version == 9:
            head = struct.pack("!HHIIII", 9, 1, now % 2**32, now // 1000, seq, domain)
        else:
            head = struct.pack("!HHIII", 10, 16 + len(sets), now // 1000, seq, domain)
        seq += body[0] % 3 if body else 1
        out.append((head + sets, source, now))
    return out


def check_templated(data: bytes, version: int) -> None:
    c = Collector(caps=CAPS)
    dgrams = _datagrams(data, version)
    for d, source, now in dgrams:
        got = c.receive(d, source, now)
        assert (got.datagram is None) != (got.malformed is None)
        for line in jsonl.received_lines(got):
            json.loads(line)
        if got.datagram is not None:
            text.datagram_line(got.datagram)
            [text.record_line(r) for r in got.records]
            [text.options_line(o) for o in got.options]
        store, held = c._templated.store, c._templated.held
        assert len(store) <= CAPS.max_templates and store.fields <= CAPS.max_template_fields
        assert len(held) <= CAPS.held_sets and held.bytes <= CAPS.held_bytes
    c.finish(dgrams[-1][2] + 1 if dgrams else 0)
    s = c.summary()
    assert "collector-bug" not in s.malformed, s.malformed
    assert s.datagrams + s.malformed_total == len(dgrams)
    late = sum(1 for r in c.records if any(f.code == "data-before-template" for f in r.findings))
    decoded = sum(d.header.count if d.header.version == 5 else d.contents.flows for d in c.datagrams)
    assert len(c.records) == s.records == decoded + late
    t = s.templates
    assert t.get("held", 0) == t.get("released", 0) + s.undecoded.get("no_template", 0) and "holding" not in t


def check_v9(data: bytes) -> None:
    check_templated(data, 9)


def check_ipfix(data: bytes) -> None:
    check_templated(data, 10)


def _templated_seeds(version: int) -> list[bytes]:
    """Interleavings that decode: templates, data (before and after them), withdrawals,
    domains; and the first datagrams softflowd sent (samples/exports.pcap)."""
    flow = struct.pack("!HHHHHHHHHHHH", 8, 4, 12, 4, 2, 4, 1, 4, 4, 1, 82, 0xFFFF)
    rec = bytes([10, 0, 0, 1, 10, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 120, 17, 3]) + b"abc"

    def op(kind: int, body: bytes, domain: int = 0, port: int = 0, later: int = 1) -> bytes:
        return bytes([kind | domain << 2 | port << 4 | later << 5, len(body)]) + body

    tmpl = op(1, b"\0" + flow)
    out = [tmpl + op(2, b"\0" + rec * 3) + op(2, b"\0" + rec, later=2),
           op(2, b"\0" + rec) + tmpl + op(2, b"\0" + rec * 2, domain=1) + op(1, b"\0" + flow, domain=1),
           tmpl + op(3, b"\0\0\x01") + op(2, b"\0" + rec) + op(1, b"\x81" + flow[:8]) + op(2, b"\x01" + rec[:8]),
           b"".join(op(1, bytes([i]) + flow, domain=i % 4, port=i % 2) for i in range(8))]
    from testbed.collector.capture import Reader
    with open(ROOT / "samples" / "exports.pcap", "rb") as f:
        real = [d.payload for d in Reader().datagrams(f) if d.payload[1] == version]
    out += [bytes([0, 255]) + p[:255] for p in real[:3]]
    return out


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
    "v9": Target(check_v9, lambda: _templated_seeds(9), 4096),
    "ipfix": Target(check_ipfix, lambda: _templated_seeds(10), 4096),
    "yaml": Target(check_yaml, _yaml_seeds, 8192),
}
