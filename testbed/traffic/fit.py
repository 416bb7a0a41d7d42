"""Fit a field capture to the lab: addresses mapped, each packet given its way
into a router, framed for it, checksums fixed. Pure: frames in, frames out.

Nothing is dropped quietly: a frame that cannot go in (not IPv4, malformed,
its source has no way in, larger than the link's MTU) is counted by reason.
"""
from __future__ import annotations

import struct
from array import array
from collections import Counter
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import Iterable, Iterator

from .ipv4 import TCP, UDP, Key, ip_start, key_of
from ..pcap import Captured

ANYWHERE = IPv4Network("0.0.0.0/0")
NO_WAY = "with a source no into: entry covers"


@dataclass(frozen=True)
class AddressMap:
    """Capture prefix -> lab prefix (host bits kept) or one lab address (a /32:
    every address of the prefix becomes it). The longest prefix wins; an
    address no rule covers stays as it is."""

    rules: tuple[tuple[IPv4Network, IPv4Network], ...] = ()

    def __post_init__(self) -> None:
        table = sorted(((int(a.network_address), a.prefixlen, int(b.network_address), b.prefixlen)
                        for a, b in self.rules), key=lambda r: -r[1])
        object.__setattr__(self, "_table", table)

    def __call__(self, addr: int) -> int:
        for net, plen, to, to_len in self._table:  # type: ignore[attr-defined]
            host = 0xFFFFFFFF >> plen
            if addr & ~host & 0xFFFFFFFF == net:
                return to if to_len == 32 else to | (addr & host)
        return addr

    def __str__(self) -> str:
        return "{" + ", ".join(f"{a}: {b}" for a, b in self.rules) + "}"


@dataclass(frozen=True)
class Way:
    """Where packets enter the lab: the router interface `ref`, reached from
    the other end of its link, `sender`, with the MACs of both ends."""

    ref: str
    sender: str
    router_mac: bytes
    sender_mac: bytes
    mtu: int

    @property
    def header(self) -> bytes:
        return self.router_mac + self.sender_mac + b"\x08\x00"


@dataclass(frozen=True)
class Ways:
    """The way in of each packet, by its (lab) source address: the longest
    prefix wins; a source that no prefix covers has none."""

    ways: tuple[Way, ...]
    by_source: tuple[tuple[IPv4Network, int], ...]  # prefix -> index into ways

    def of(self, src: int) -> int | None:
        best, found = -1, None
        for net, i in self.by_source:
            if net.prefixlen > best and src & int(net.netmask) == int(net.network_address):
                best, found = net.prefixlen, i
        return found


@dataclass(frozen=True)
class Fitted:
    """One packet as it will be sent: the capture's time, its way in, the
    Ethernet frame, and the key a probe will give it."""

    ts_ns: int
    way: int
    frame: bytes
    key: Key


@dataclass
class Fit:
    packets: list[Fitted] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)  # reason -> frames
    unplaced: Counter = field(default_factory=Counter)  # sources with no way in -> packets
    mapped: int = 0  # packets with an address rewritten
    checksums: int = 0  # TCP/UDP checksums computed again

    def skipped_text(self) -> str:
        """`8 IPv6, 2 ARP, 3 with a source no into: entry covers (10.9.0.1, ...)`."""
        parts = []
        for why, n in self.skipped.most_common():
            if why == NO_WAY:
                some = [a for a, _ in self.unplaced.most_common(3)]
                why += f" ({', '.join(some)}{', ...' if len(self.unplaced) > 3 else ''})"
            parts.append(f"{n} {why}")
        return ", ".join(parts)


def fit(frames: Iterable[Captured], amap: AddressMap, ways: Ways) -> Fit:
    """Every frame, fitted or counted; the fitted ones in `packets`."""
    out = Fit()
    out.packets = list(fitted(frames, amap, ways, out))
    return out


def fitted(frames: Iterable[Captured], amap: AddressMap, ways: Ways, out: Fit) -> Iterator[Fitted]:
    """Each frame that goes in, fitted, as the frames come (nothing is kept);
    `out` counts the others by reason."""
    for c in frames:
        off = ip_start(c.linktype, c.data)
        if isinstance(off, str):
            out.skipped[off] += 1
            continue
        ip = c.data[off:]
        key = key_of(ip)
        if isinstance(key, str):
            out.skipped[key] += 1
            continue
        ip = ip[:key.octets]  # without the link's padding
        src, dst = struct.unpack_from("!II", ip, 12)
        new_src, new_dst = amap(src), amap(dst)
        if (new_src, new_dst) != (src, dst):
            ip, redone = _readdress(ip, new_src, new_dst)
            out.mapped += 1
            out.checksums += redone
            key = key_of(ip)
        way = ways.of(new_src)
        if way is None:
            out.skipped[NO_WAY] += 1
            out.unplaced[key.flow.src] += 1
            continue
        w = ways.ways[way]
        if len(ip) > w.mtu:
            out.skipped[f"larger than the MTU of {w.ref} ({w.mtu})"] += 1
            continue
        yield Fitted(c.ts_ns, way, w.header + ip, key)


def _readdress(ip: bytes, src: int, dst: int) -> tuple[bytes, int]:
    """The packet with new addresses and its checksums fixed: the IP header's
    always; TCP's or UDP's computed again when the whole segment is there,
    else (a fragment, a short capture) adjusted for the addresses (RFC 1624).
    Returns the packet and 1 if its L4 checksum was computed again."""
    b = bytearray(ip)
    old = bytes(b[12:20])
    b[12:20] = struct.pack("!II", src, dst)
    hlen = (b[0] & 15) * 4
    b[10:12] = b"\0\0"
    b[10:12] = _checksum(b[:hlen])
    proto, frag = b[9], struct.unpack_from("!H", b, 6)[0]
    at = {TCP: 16, UDP: 6}.get(proto)
    if at is None or frag & 0x1FFF or len(b) < hlen + at + 2:
        return bytes(b), 0
    at += hlen
    if proto == UDP and b[at:at + 2] == b"\0\0":
        return bytes(b), 0  # no checksum: stays none
    whole = not frag & 0x2000 and len(b) == struct.unpack_from("!H", b, 2)[0]
    if whole:
        b[at:at + 2] = b"\0\0"
        pseudo = bytes(b[12:20]) + struct.pack("!BBH", 0, proto, len(b) - hlen)
        csum = _checksum(pseudo + bytes(b[hlen:]))
        if proto == UDP and csum == b"\0\0":
            csum = b"\xff\xff"  # 0 means "none" in UDP
        b[at:at + 2] = csum
        return bytes(b), 1
    b[at:at + 2] = _adjust(bytes(b[at:at + 2]), old, bytes(b[12:20]))
    return bytes(b), 0


def _checksum(data: bytes) -> bytes:
    """The Internet checksum (RFC 1071), ready to put in the packet."""
    if len(data) % 2:
        data += b"\0"
    s = sum(array("H", data))  # the sum is the same in either byte order
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return struct.pack("=H", ~s & 0xFFFF)


def _adjust(csum: bytes, old: bytes, new: bytes) -> bytes:
    """A checksum after `old` 16-bit words became `new` (RFC 1624, eqn. 3)."""
    s = ~struct.unpack("!H", csum)[0] & 0xFFFF
    for (o,), (n,) in zip(struct.iter_unpack("!H", old), struct.iter_unpack("!H", new)):
        s += (~o & 0xFFFF) + n
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return struct.pack("!H", ~s & 0xFFFF)

