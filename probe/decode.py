"""Frame -> Packet facts. Never raises on input from the wire.

`decode(frame, linktype, ifindex)` returns a `Packet`, or the `Skip` reason
why the frame is not accounted (the caller counts it by that reason).

Linux cooked captures (`tcpdump -i any`): a packet the capturing host sent
(packet type OUTGOING) is skipped as OUTGOING, as live capture skips it: on a
router every forwarded packet is captured twice, in and out, and only its
arrival is accounted. A host's capture (`--direction both`: `outgoing`) counts
them: what the host sent was captured once, on its way out. libpcap puts a VLAN tag back into an SLL (v1) frame
after the address (protocol 0x8100, then the tag, then the real protocol):
it is walked as in Ethernet.
"""
from __future__ import annotations

from struct import Struct

from .constants import (DLT_EN10MB, DLT_IPV4, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
                        DLT_RAW_BSD, ETH_HEADER, ETH_IPV4, GSO_MAX_SIZE, ICMP, ICMP_TYPE_CODE,
                        IP_OFFMASK, IPV4_HEADER, MAX_VLAN_TAGS, PACKET_OUTGOING, SLL2_HEADER,
                        SLL_HEADER, TCP, TCP_HEADER, U16_MAX, UDP, UDP_HEADER, VLAN_TAG,
                        VLAN_TAGS, Skip)
from .packet import FlowKey, Packet

L4_HEADER = {TCP: TCP_HEADER, UDP: UDP_HEADER}


def decode(frame: bytes, linktype: int, ifindex: int, icmp_ports: bool = True,
           wire_len: int = 0, outgoing: bool = False) -> Packet | Skip:
    """Decode one captured frame into the facts of its IPv4 packet. `wire_len`:
    the frame's length on the wire, when the capture may have cut it (0: len(frame));
    `outgoing`: count what the capturing host sent too."""
    n = len(frame)
    if linktype == DLT_EN10MB:
        if n < ETH_HEADER:
            return Skip.SHORT_LINK_HEADER
        ethertype = (frame[12] << 8) | frame[13]
        off = ETH_HEADER
    elif linktype in (DLT_RAW, DLT_RAW_BSD, DLT_IPV4):
        return decode_ipv4(frame, 0, ifindex, icmp_ports, wire_len)
    elif linktype == DLT_LINUX_SLL:
        if n < SLL_HEADER:
            return Skip.SHORT_LINK_HEADER
        if ((frame[0] << 8) | frame[1]) == PACKET_OUTGOING and not outgoing:
            return Skip.OUTGOING
        ethertype = (frame[14] << 8) | frame[15]
        off = SLL_HEADER
    elif linktype == DLT_LINUX_SLL2:
        if n < SLL2_HEADER:
            return Skip.SHORT_LINK_HEADER
        if frame[10] == PACKET_OUTGOING and not outgoing:
            return Skip.OUTGOING
        if ((frame[0] << 8) | frame[1]) != ETH_IPV4:
            return Skip.NOT_IPV4
        return decode_ipv4(frame, SLL2_HEADER, ifindex, icmp_ports, wire_len)
    else:
        return Skip.UNSUPPORTED_LINKTYPE
    tags = 0
    while ethertype in VLAN_TAGS:  # Ethernet and SLL: up to two tags
        tags += 1
        if tags > MAX_VLAN_TAGS:
            return Skip.TOO_MANY_VLAN_TAGS
        if n < off + VLAN_TAG:
            return Skip.SHORT_LINK_HEADER
        ethertype = (frame[off + 2] << 8) | frame[off + 3]
        off += VLAN_TAG
    if ethertype != ETH_IPV4:
        return Skip.NOT_IPV4
    return decode_ipv4(frame, off, ifindex, icmp_ports, wire_len)


def sll2_ifindex(frame: bytes) -> int:
    """The interface index an SLL2 header carries (0 if the header is cut)."""
    return int.from_bytes(frame[4:8], "big") if len(frame) >= SLL2_HEADER else 0


def decode_ipv4(buf: bytes, off: int, ifindex: int, icmp_ports: bool = True,
                wire_len: int = 0) -> Packet | Skip:
    n = len(buf)
    if n < off + IPV4_HEADER:
        return Skip.SHORT_IP_HEADER if n > off else Skip.EMPTY_IP
    vihl = buf[off]
    if vihl >> 4 != 4:
        return Skip.NOT_IPV4 if vihl >> 4 == 6 else Skip.BAD_IP_VERSION
    hlen = (vihl & 0x0F) * 4
    if hlen < IPV4_HEADER:
        return Skip.BAD_IHL
    if n < off + hlen:
        return Skip.SHORT_IP_HEADER  # options cut off by the capture
    _, tos, total, _, frag, _, proto, _, src, dst = _IP(buf, off)
    if total < hlen:
        # BIG TCP (IPv4 GSO beyond 64 KiB) leaves the total length 0; Linux then
        # takes the length from the frame (iph_totlen()), and so do we: only
        # past 64 KiB (Linux writes 0 for no shorter packet, and drops one that
        # says 0 otherwise) and up to the largest GSO packet it builds. In a
        # UDP tunnel (VXLAN, Geneve) the outer IPv4 packet says 0 as well: its
        # GSO is TCP underneath, and it is accounted as the outer UDP packet
        big = (wire_len or n) - off
        if total or (proto != TCP and proto != UDP) or not U16_MAX < big <= GSO_MAX_SIZE:
            return Skip.BAD_TOTAL_LENGTH
        total = big
    sport = dport = flags = 0
    truncated = False
    if not frag & IP_OFFMASK:  # later fragments: ports 0, own flow (as ng_netflow)
        l4 = off + hlen
        # what the packet holds (by its length) and what the capture kept
        have = min(total - hlen, n - l4)
        need = L4_HEADER.get(proto)
        if need is not None:
            if have < need:
                truncated = True
            else:
                sport = (buf[l4] << 8) | buf[l4 + 1]
                dport = (buf[l4 + 2] << 8) | buf[l4 + 3]
                if proto == TCP:
                    flags = buf[l4 + 13]
        elif proto == ICMP and icmp_ports:
            if have < ICMP_TYPE_CODE:
                truncated = True
            else:
                dport = (buf[l4] << 8) | buf[l4 + 1]  # type*256 + code
    # tuple.__new__ builds the named tuples without a Python-level __new__ call
    return _new(Packet, (_new(FlowKey, (src, dst, sport, dport, proto, tos, ifindex)),
                         total, flags, truncated))


_IP = Struct("!BBHHHBBHII").unpack_from  # the IPv4 header, one C call
_new = tuple.__new__
