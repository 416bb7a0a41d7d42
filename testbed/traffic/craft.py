"""IPv4 packets for crafted traffic, built with struct: headers, checksums, fragments.

The lab's steps need a handful of shapes (UDP, TCP, ICMP echo and errors, IP
fragments), with the defaults scapy uses, so a packet is the same bytes
whichever built it (tests/testbed/test_craft.py holds it against scapy). Being
plain struct code, a lab file is read and planned without loading scapy.
"""
from __future__ import annotations

import struct
from ipaddress import IPv4Address

UDP, TCP, ICMP = 17, 6, 1
IP_ID = 1  # scapy's defaults
TTL = 64
TCP_WINDOW = 8192
MF = 0x2000  # more fragments, in the flags+offset word
IDENTIFIED = (0, 8, 13, 14, 15, 16, 17, 18)  # ICMP types with an id and a sequence number
TCP_FLAGS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20, "E": 0x40, "C": 0x80}


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(src: str, dst: str, proto: int, payload: bytes, *, tos: int = 0, ttl: int = TTL,
         ident: int = IP_ID, flags_frag: int = 0) -> bytes:
    """An IPv4 packet (no options) around `payload`; `flags_frag`: the flags+offset word."""
    header = struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + len(payload), ident, flags_frag, ttl, proto, 0,
                         IPv4Address(src).packed, IPv4Address(dst).packed)
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:] + payload


def _pseudo(src: str, dst: str, proto: int, length: int) -> bytes:
    return IPv4Address(src).packed + IPv4Address(dst).packed + struct.pack("!BBH", 0, proto, length)


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes = b"", **ip) -> bytes:
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    csum = checksum(_pseudo(src, dst, UDP, len(seg)) + seg) or 0xFFFF  # 0 means "none" in UDP
    return ipv4(src, dst, UDP, seg[:6] + struct.pack("!H", csum) + seg[8:], **ip)


def tcp(src: str, dst: str, sport: int, dport: int, flags: str = "S", seq: int = 0, ack: int = 0,
        payload: bytes = b"", **ip) -> bytes:
    """`flags` as scapy writes them: "S", "SA", "PA", "FA", "R"."""
    bits = sum(TCP_FLAGS[f] for f in flags)
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, bits, TCP_WINDOW, 0, 0) + payload
    csum = checksum(_pseudo(src, dst, TCP, len(seg)) + seg)
    return ipv4(src, dst, TCP, seg[:16] + struct.pack("!H", csum) + seg[18:], **ip)


def icmp(src: str, dst: str, icmp_type: int = 8, code: int = 0, ident: int = 0, seq: int = 0,
         payload: bytes = b"", **ip) -> bytes:
    """Echo, timestamp, information and address-mask messages carry `ident` and `seq`;
    the rest (unreachable, time exceeded, ...) have 4 bytes of zeros there."""
    if icmp_type not in IDENTIFIED:
        ident = seq = 0
    msg = struct.pack("!BBHHH", icmp_type, code, 0, ident, seq) + payload
    return ipv4(src, dst, ICMP, msg[:2] + struct.pack("!H", checksum(msg)) + msg[4:], **ip)


def fragments(packet: bytes, sizes: list[int]) -> list[bytes]:
    """`packet` (no options) cut into fragments carrying `sizes` bytes of its payload each
    (multiples of 8 but the last; the rest of the payload goes in the last)."""
    header, payload = packet[:20], packet[20:]
    src, dst = str(IPv4Address(header[12:16])), str(IPv4Address(header[16:20]))
    tos, ident, ttl, proto = header[1], struct.unpack("!H", header[4:6])[0], header[8], header[9]
    out, at = [], 0
    for k, size in enumerate(sizes):
        last = k == len(sizes) - 1
        piece = payload[at:] if last else payload[at:at + size]
        out.append(ipv4(src, dst, proto, piece, tos=tos, ttl=ttl, ident=ident,
                        flags_frag=(0 if last else MF) | at // 8))
        at += len(piece)
    return out


def fragment(packet: bytes, fragsize: int) -> list[bytes]:
    """Fragments of at most `fragsize` payload bytes (rounded down to 8), as scapy's fragment()."""
    size = fragsize - fragsize % 8
    n = max(1, -(-(len(packet) - 20) // size))
    return fragments(packet, [size] * n)
