"""Frame -> Packet facts. Never raises on input from the wire.

`decode(frame, linktype, ifindex)` returns a `Packet`, or a short string that
names why the frame is not accounted (the caller counts it by that reason).

Linux cooked captures (`tcpdump -i any`): a packet the capturing host sent
(packet type OUTGOING) is skipped as "outgoing", as live capture skips it: on a
router every forwarded packet is captured twice, in and out, and only its
arrival is accounted. libpcap puts a VLAN tag back into an SLL (v1) frame
after the address (protocol 0x8100, then the tag, then the real protocol):
it is walked as in Ethernet.
"""
from __future__ import annotations

from struct import Struct

from .packet import FlowKey, Packet

# pcap link types this probe reads
DLT_EN10MB = 1
DLT_RAW = 101  # raw IP, as libpcap writes it on every platform
DLT_RAW_BSD = 12  # some writers use the old BSD value
DLT_IPV4 = 228
DLT_LINUX_SLL = 113
DLT_LINUX_SLL2 = 276
LINKTYPES = {DLT_EN10MB, DLT_RAW, DLT_RAW_BSD, DLT_IPV4, DLT_LINUX_SLL, DLT_LINUX_SLL2}

ETH_IPV4 = 0x0800
VLAN_TAGS = (0x8100, 0x88A8, 0x9100)
PACKET_OUTGOING = 4  # sll_pkttype: sent by the capturing host
IP_OFFMASK = 0x1FFF
TCP, UDP, ICMP = 6, 17, 1
GSO_MAX_SIZE = 8 * 65535  # Linux's GSO_MAX_SIZE: the largest BIG TCP packet
L4_HEADER = {TCP: 20, UDP: 8}  # a header shorter than this is "truncated" (as the seed)


def decode(frame: bytes, linktype: int, ifindex: int, icmp_ports: bool = True,
           wire_len: int = 0) -> Packet | str:
    """Decode one captured frame into the facts of its IPv4 packet. `wire_len`:
    the frame's length on the wire, when the capture may have cut it (0: len(frame))."""
    n = len(frame)
    if linktype == DLT_EN10MB:
        if n < 14:
            return "short_link_header"
        ethertype = (frame[12] << 8) | frame[13]
        off = 14
    elif linktype in (DLT_RAW, DLT_RAW_BSD, DLT_IPV4):
        return decode_ipv4(frame, 0, ifindex, icmp_ports, wire_len)
    elif linktype == DLT_LINUX_SLL:
        if n < 16:
            return "short_link_header"
        if ((frame[0] << 8) | frame[1]) == PACKET_OUTGOING:
            return "outgoing"
        ethertype = (frame[14] << 8) | frame[15]
        off = 16
    elif linktype == DLT_LINUX_SLL2:
        if n < 20:
            return "short_link_header"
        if frame[10] == PACKET_OUTGOING:
            return "outgoing"
        if ((frame[0] << 8) | frame[1]) != ETH_IPV4:
            return "not_ipv4"
        return decode_ipv4(frame, 20, ifindex, icmp_ports, wire_len)
    else:
        return "unsupported_linktype"
    tags = 0
    while ethertype in VLAN_TAGS:  # Ethernet and SLL: up to two tags
        tags += 1
        if tags > 2:
            return "too_many_vlan_tags"
        if n < off + 4:
            return "short_link_header"
        ethertype = (frame[off + 2] << 8) | frame[off + 3]
        off += 4
    if ethertype != ETH_IPV4:
        return "not_ipv4"
    return decode_ipv4(frame, off, ifindex, icmp_ports, wire_len)


def sll2_ifindex(frame: bytes) -> int:
    """The interface index an SLL2 header carries (0 if the header is cut)."""
    return int.from_bytes(frame[4:8], "big") if len(frame) >= 20 else 0


def decode_ipv4(buf: bytes, off: int, ifindex: int, icmp_ports: bool = True,
                wire_len: int = 0) -> Packet | str:
    n = len(buf)
    if n < off + 20:
        return "short_ip_header" if n > off else "empty_ip"
    vihl = buf[off]
    if vihl >> 4 != 4:
        return "not_ipv4" if vihl >> 4 == 6 else "bad_ip_version"
    hlen = (vihl & 0x0F) * 4
    if hlen < 20:
        return "bad_ihl"
    if n < off + hlen:
        return "short_ip_header"  # options cut off by the capture
    _, tos, total, _, frag, _, proto, _, src, dst = _IP(buf, off)
    if total < hlen:
        # BIG TCP (IPv4 GSO beyond 64 KiB) leaves the total length 0; Linux then
        # takes the length from the frame (iph_totlen()), and so do we: only
        # past 64 KiB (Linux writes 0 for no shorter packet, and drops one that
        # says 0 otherwise) and up to the largest GSO packet it builds
        big = (wire_len or n) - off
        if total or proto != TCP or not 0xFFFF < big <= GSO_MAX_SIZE:
            return "bad_total_length"
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
            if have < 2:
                truncated = True
            else:
                dport = (buf[l4] << 8) | buf[l4 + 1]  # type*256 + code
    # tuple.__new__ builds the named tuples without a Python-level __new__ call
    return _new(Packet, (_new(FlowKey, (src, dst, sport, dport, proto, tos, ifindex)),
                         total, flags, truncated))


_IP = Struct("!BBHHHBBHII").unpack_from  # the IPv4 header, one C call
_new = tuple.__new__
