"""TPACKET_V3 ring layout: parse one retired block of an AF_PACKET RX ring.

Pure functions over a buffer (the mmap'ed ring, or bytes in a test), so the
layout can be checked without a socket. Offsets from <linux/if_packet.h>.
"""
from __future__ import annotations

import struct

TP_STATUS_KERNEL = 0
TP_STATUS_USER = 1
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6

# sll_pkttype values
PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST = 0, 1, 2
PACKET_OTHERHOST, PACKET_OUTGOING = 3, 4
# What a router receives for itself or forwards; OTHERHOST frames (seen only
# when something else made the NIC promiscuous) are not routed, OUTGOING ones
# would count every forwarded packet twice.
INGRESS = frozenset((PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST))

# struct tpacket_block_desc: version, offset_to_priv, then tpacket_hdr_v1
BLOCK_HDR = struct.Struct("=IIIII")  # ..., block_status, num_pkts, offset_to_first_pkt
BLOCK_STATUS_OFF = 8
BLOCK_HDR_LEN = 48

# struct tpacket3_hdr (48 bytes) followed by struct sockaddr_ll at TPACKET_ALIGN(48)
PKT_HDR = struct.Struct(
    "=IIIIIIHH"  # next_offset, sec, nsec, snaplen, len, status, mac, net
    "I"          # hv1.tp_rxhash
    "IH"         # hv1.tp_vlan_tci, hv1.tp_vlan_tpid
    "10x"        # hv1.tp_padding, tp_padding[8]
    "HHiHBB"     # sll_family, sll_protocol, sll_ifindex, sll_hatype, sll_pkttype, sll_halen
)
PKT_HDR_LEN = 48
_BLANK_MACS = bytes(12)


def block_ready(buf, base: int) -> bool:
    return bool(struct.unpack_from("=I", buf, base + BLOCK_STATUS_OFF)[0] & TP_STATUS_USER)


def release_block(buf, base: int) -> None:
    """Hand the block back to the kernel."""
    struct.pack_into("=I", buf, base + BLOCK_STATUS_OFF, TP_STATUS_KERNEL)


def parse_block(buf, base: int, out: list) -> int:
    """Append (ifindex, ts_ns, frame, wire_len) for each ingress frame of the block at `base`.

    Returns the number of frames in the block that were skipped (not ingress).
    The frame is copied (the block goes back to the kernel) and carries its
    802.1Q tag again if the kernel moved it into the header (VLAN offload),
    as libpcap does, so the decoder sees the frame as it was on the wire.
    A frame without a link header (tun, WireGuard, GRE: tp_mac == tp_net)
    gets a blank Ethernet header with its EtherType, so every frame out of
    here is Ethernet. `wire_len` is the frame's length on the wire (tp_len;
    the snap length cut the frame), with what was put back counted in.
    """
    _, _, status, num, off = BLOCK_HDR.unpack_from(buf, base)
    unpack = PKT_HDR.unpack_from
    pos = base + off
    skipped = 0
    for _ in range(num):
        (nxt, sec, nsec, snaplen, wire_len, pstatus, mac, net, _hash, tci, tpid,
         _fam, proto, ifindex, _hatype, pkttype, _halen) = unpack(buf, pos)
        if pkttype in INGRESS:
            start = pos + mac
            frame = bytes(buf[start:start + snaplen])
            if mac == net:  # no link header; sll_protocol is in network order already
                frame = _BLANK_MACS + struct.pack("=H", proto) + frame
                wire_len += 14
            elif pstatus & TP_STATUS_VLAN_VALID and len(frame) >= 12:
                if not pstatus & TP_STATUS_VLAN_TPID_VALID:
                    tpid = 0x8100
                frame = frame[:12] + struct.pack("!HH", tpid, tci) + frame[12:]
                wire_len += 4
            out.append((ifindex, sec * 1_000_000_000 + nsec, frame, wire_len))
        else:
            skipped += 1
        pos += nxt
    return skipped
