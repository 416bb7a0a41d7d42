"""Frames as a capture holds them, for feeding both engines: builders (IPv4,
its TCP/UDP/ICMP header, each link type's framing) and `frames()`, a hypothesis
strategy of decodable and broken frames of every link type."""
from __future__ import annotations

import struct
import sys
from pathlib import Path

from hypothesis import strategies as st

from probe.decode import GSO_MAX_SIZE

sys.path.insert(0, str(Path(__file__).parent.parent / "offline"))
from capture_formats import sll, sll2  # noqa: E402

U16 = struct.Struct("!H")


def ipv4(src: int, dst: int, proto: int, *, tos: int = 0, total: int | None = None,
         ihl: int = 5, version: int = 4, frag: int = 0, l4: bytes = b"") -> bytes:
    opts = bytes(max(0, ihl * 4 - 20))
    if total is None:
        total = 20 + len(opts) + len(l4)
    return struct.pack("!BBHHHBBHII", (version << 4) | ihl, tos, total & 0xFFFF, 1, frag, 64,
                       proto, 0, src, dst) + opts + l4


def l4_header(proto: int, sport: int, dport: int, flags: int) -> bytes:
    if proto == 6:
        return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, flags, 65535, 0, 0)
    if proto == 17:
        return struct.pack("!HHHH", sport, dport, 8, 0)
    if proto == 1:
        return struct.pack("!BBHHH", dport >> 8, dport & 255, 0, 0, 0)
    return bytes(8)


def link(linktype: int, ip: bytes, *, ethertype: int = 0x0800, vlans: int = 0,
         pkttype: int = 0, ifindex: int = 0) -> bytes:
    """`ip` as `linktype` frames it: Ethernet or SLL with `vlans` tags (libpcap puts
    them back into SLL frames), raw, SLL2 (`ifindex` in its header); SLL and SLL2
    with their packet type (4: sent by the capturing host)."""
    tags = b"".join(U16.pack(0x88A8 if k == 0 and vlans == 2 else 0x8100) + U16.pack(7)
                    for k in range(vlans))
    if linktype == 1:
        return bytes(12) + tags + U16.pack(ethertype) + ip
    if linktype == 113:
        return sll(ip, pkttype, protocol=ethertype, tags=tags)
    if linktype == 276:
        return sll2(ip, ifindex, pkttype, protocol=ethertype)
    return ip  # raw IPv4 (101, 12, 228) and link types nobody reads


ADDRS = [0x0A000001, 0x0A000002, 0xAC100001, 0xC0A80105]
FLAGS = [0, 0x02, 0x10, 0x18, 0x01, 0x11, 0x04, 0x14]


LINKTYPES = [1, 1, 1, 101, 12, 228, 113, 113, 276, 276, 999]


@st.composite
def frames(draw, linktype: int | None = None):
    """(frame, its link type, its length on the wire: 0 for the frame's own)."""
    proto = draw(st.sampled_from([6, 6, 17, 1, 47]))
    l4 = l4_header(proto, draw(st.integers(0, 2)), draw(st.integers(0, 2)) * 0x101,
                   draw(st.sampled_from(FLAGS)))
    ip = ipv4(draw(st.sampled_from(ADDRS)), draw(st.sampled_from(ADDRS)), proto,
              tos=draw(st.sampled_from([0, 8])), l4=l4,
              version=draw(st.sampled_from([4] * 12 + [6, 5])),
              ihl=draw(st.sampled_from([5] * 10 + [6, 4, 0, 15])),
              frag=draw(st.sampled_from([0, 0, 0, 0x4000, 0x2000, 0x0001, 0x2005])))
    delta = draw(st.sampled_from([0] * 6 + [-30, -1, 1, 1000] + ["big"] * 3))
    if delta == "big":  # BIG TCP (when TCP): total length 0, the length on the wire counts
        ip = ip[:2] + b"\0\0" + ip[4:] + bytes(draw(st.sampled_from([0, 0, 1, 100])))
    elif delta:  # an IP total length that does not match what was captured
        ip = ip[:2] + struct.pack("!H", max(0, len(ip) + delta) & 0xFFFF) + ip[4:]
    if linktype is None:
        linktype = draw(st.sampled_from(LINKTYPES))
    frame = link(linktype, ip, ethertype=draw(st.sampled_from([0x0800] * 8 + [0x86DD, 0x0806])),
                 vlans=draw(st.sampled_from([0, 0, 0, 1, 2, 3])),
                 pkttype=draw(st.sampled_from([0, 0, 0, 0, 1, 3, 4])),
                 ifindex=draw(st.sampled_from([2, 3, 70000])))
    off = len(frame) - len(ip)
    wire = {"own": 0, "frame": len(frame), "more": len(frame) + 100_000,
            "largest": off + GSO_MAX_SIZE, "past": off + GSO_MAX_SIZE + 1, "huge": 2 ** 32 - 1,
            "short": off + 19}[draw(st.sampled_from(["own"] * 4 + ["frame", "more", "largest",
                                                                  "past", "huge", "short"]))]
    cut = draw(st.one_of(st.none(), st.none(), st.integers(0, len(frame))))
    return frame[:cut], linktype, wire
