"""The testbed's reading of an IPv4 packet: where it starts in a captured frame,
and the v5 flow key a NetFlow probe gives it.

Written apart from the probe's decoder (probe/decode.py), so the ground truth
of crafted and replayed traffic does not share its bugs. The key rules (as
ng_netflow's): octets are the IP total length; a later fragment has ports 0;
a first fragment or a capture too short for the TCP (20 bytes) or UDP (8)
header has ports 0; ICMP puts type*256+code in the destination port.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

ETH_IPV4, ETH_ARP, ETH_IPV6 = 0x0800, 0x0806, 0x86DD
VLANS = (0x8100, 0x88A8, 0x9100)
TCP, UDP, ICMP = 6, 17, 1
L4_MIN = {TCP: 20, UDP: 8, ICMP: 2}
ETHERTYPES = {ETH_ARP: "ARP", ETH_IPV6: "IPv6", 0x88CC: "LLDP", 0x8863: "PPPoE", 0x8864: "PPPoE",
              0x8847: "MPLS", 0x8848: "MPLS"}


@dataclass(frozen=True)
class FlowId:
    """The v5 key fields of a flow (addresses as dotted text)."""

    src: str
    dst: str
    sport: int
    dport: int
    proto: int
    tos: int

    @property
    def key(self) -> tuple[str, str, int, int, int, int]:
        """The v5 key fields as a tuple (a collector record's, in the same order)."""
        return (self.src, self.dst, self.sport, self.dport, self.proto, self.tos)

    def __str__(self) -> str:
        name = {6: "tcp", 17: "udp", 1: "icmp"}.get(self.proto, str(self.proto))
        return f"{name} {self.src}:{self.sport} -> {self.dst}:{self.dport}"


class Key(NamedTuple):
    """What a probe accounts for one packet."""

    flow: FlowId
    octets: int
    tcp_flags: int


def ip_start(linktype: int, frame: bytes) -> int | str:
    """Offset of the IPv4 header in a captured frame, or why there is none."""
    found = network_start(linktype, frame)
    if isinstance(found, str):
        return found
    off, ethertype = found
    if ethertype != ETH_IPV4:
        return ETHERTYPES.get(ethertype, f"ethertype {ethertype:#06x}")
    return off


def network_start(linktype: int, frame: bytes) -> tuple[int, int] | str:
    """(offset, ethertype) of the network header in a captured frame, or why there is
    none (raw IP of another version reads as malformed IPv4)."""
    if linktype == 1:  # Ethernet, up to two VLAN tags
        off, ethertype = 14, _u16(frame, 12)
        for _ in range(3):
            if ethertype not in VLANS:
                break
            off, ethertype = off + 4, _u16(frame, off + 2)
        else:
            return "more than two VLAN tags"
    elif linktype == 113:  # Linux cooked (tcpdump -i any)
        off, ethertype = 16, _u16(frame, 14)
        if ethertype in VLANS:  # a tag libpcap put back
            off, ethertype = 20, _u16(frame, 18)
    elif linktype == 276:  # Linux cooked v2
        off, ethertype = 20, _u16(frame, 0)
    elif linktype in (101, 12, 14, 228, 229):  # raw IP
        off, version = 0, frame[0] >> 4 if frame else None
        ethertype = {4: ETH_IPV4, 6: ETH_IPV6}.get(version, -1)
    elif linktype in (0, 108):  # BSD loopback: the address family, in either byte order
        off, family = 4, frame[:4]
        ethertype = ETH_IPV4 if family in (b"\2\0\0\0", b"\0\0\0\2") else ETH_IPV6
    else:
        return f"link type {linktype}"
    if ethertype is None or len(frame) < off:
        return "short link header"
    if ethertype == -1:
        return "malformed IPv4"
    return off, ethertype


def _u16(b: bytes, at: int) -> int | None:
    return (b[at] << 8) | b[at + 1] if len(b) >= at + 2 else None


_HEAD = struct.Struct("!BBHHHBBH4s4s")


def key_of(ip: bytes) -> Key | str:
    """The v5 key of an IPv4 packet (as captured: maybe cut short), or why
    a probe must not account it."""
    if len(ip) < 20:
        return "malformed IPv4 (short header)"
    vihl, tos, total, _, frag, _, proto, _, src, dst = _HEAD.unpack_from(ip)
    hlen = (vihl & 15) * 4
    if vihl >> 4 != 4 or hlen < 20 or len(ip) < hlen or total < hlen:
        return "malformed IPv4"
    sport = dport = flags = 0
    if not frag & 0x1FFF:
        have = min(total, len(ip)) - hlen
        if have >= L4_MIN.get(proto, 1 << 16):
            if proto == ICMP:
                dport = ip[hlen] * 256 + ip[hlen + 1]
            else:
                sport, dport = struct.unpack_from("!HH", ip, hlen)
                if proto == TCP:
                    flags = ip[hlen + 13]
    return Key(FlowId(_dotted(src), _dotted(dst), sport, dport, proto, tos), total, flags)


def _dotted(b: bytes) -> str:
    return f"{b[0]}.{b[1]}.{b[2]}.{b[3]}"
