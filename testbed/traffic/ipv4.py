"""The testbed's reading of an IPv4 packet: where it starts in a captured frame
(testbed/pcap.py knows the link types), and the v5 flow key a NetFlow probe gives it.

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

from ..pcap import ETH_IPV4, ETHERTYPES, network_start

TCP, UDP, ICMP = 6, 17, 1
L4_MIN = {TCP: 20, UDP: 8, ICMP: 2}


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
