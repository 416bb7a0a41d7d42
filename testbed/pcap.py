"""Capture files in and out: pcap (us or ns) and pcapng, and where the network header
starts in a frame of each link type. Replayed traffic reads captures with it, and so
does the referee's `collect --read` (captures of exports): it sits at the bottom.

The testbed's own reader, written apart from the probe's (probe/pcapfile.py):
the ground truth of a replay must not share a bug with what it judges. A bad
file raises `CaptureError` with one line that names the offset; a file cut
short mid-packet says so rather than ending quietly. The writers produce what
the replay sends: classic pcap with nanoseconds, or pcapng with one named
interface per entry point (Wireshark shows where each packet went in).
"""
from __future__ import annotations

import struct
from typing import BinaryIO, Iterator, NamedTuple

ETH_IPV4, ETH_ARP, ETH_IPV6 = 0x0800, 0x0806, 0x86DD
VLANS = (0x8100, 0x88A8, 0x9100)
ETHERTYPES = {ETH_ARP: "ARP", ETH_IPV6: "IPv6", 0x88CC: "LLDP", 0x8863: "PPPoE", 0x8864: "PPPoE",
              0x8847: "MPLS", 0x8848: "MPLS"}
PCAPNG = 0x0A0D0D0A
BOM = 0x1A2B3C4D
MAX_PACKET = 1 << 18  # larger records mean a damaged file
PCAP_NS_MAGIC = 0xA1B23C4D


class CaptureError(Exception):
    pass


class Captured(NamedTuple):
    ts_ns: int
    linktype: int
    data: bytes
    wire_len: int  # on the wire; the capture may hold less
    ifname: str | None  # pcapng interface name (if_name), if any


def read(f: BinaryIO) -> Iterator[Captured]:
    head = f.read(4)
    if len(head) < 4:
        raise CaptureError("too short for a capture file")
    if struct.unpack("<I", head)[0] == PCAPNG:
        yield from _pcapng(f, head)
    else:
        yield from _pcap(f, head)


def _need(f: BinaryIO, n: int, what: str, offset: int) -> bytes:
    got = f.read(n)
    if len(got) < n:
        raise CaptureError(f"the file ends inside {what} at offset {offset}")
    return got


def _pcap(f: BinaryIO, head: bytes) -> Iterator[Captured]:
    for e in "<>":
        magic = struct.unpack(e + "I", head)[0]
        if magic in (0xA1B2C3D4, PCAP_NS_MAGIC):
            break
    else:
        raise CaptureError(f"not a pcap or pcapng file (it starts with {head.hex()})")
    frac_ns = 1 if magic == PCAP_NS_MAGIC else 1000
    linktype = struct.unpack(e + "16xI", _need(f, 20, "the file header", 4))[0]
    linktype &= 0xFFFF  # the upper bits describe an FCS, not the link
    rec, offset = struct.Struct(e + "IIII"), 24
    while True:
        h = f.read(16)
        if not h:
            return
        if len(h) < 16:
            raise CaptureError(f"the file ends inside a packet header at offset {offset}")
        sec, frac, caplen, wire = rec.unpack(h)
        if caplen > MAX_PACKET:
            raise CaptureError(f"a packet of {caplen} bytes at offset {offset}: the file is damaged")
        data = _need(f, caplen, "a packet", offset)
        yield Captured(sec * 1_000_000_000 + frac * frac_ns, linktype, data, wire, None)
        offset += 16 + caplen


def _pcapng(f: BinaryIO, head: bytes) -> Iterator[Captured]:
    e, offset = "<", 0
    ifaces: list[tuple[int, int, str | None]] = []  # linktype, ticks per second, name
    btype_raw = head
    while True:
        if btype_raw is None:
            btype_raw = f.read(4)
            if not btype_raw:
                return
            if len(btype_raw) < 4:
                raise CaptureError(f"the file ends inside a block at offset {offset}")
        raw_len = _need(f, 4, "a block", offset)
        if struct.unpack("<I", btype_raw)[0] == PCAPNG:  # a section: its byte order first
            bom = _need(f, 4, "a section header", offset)
            e = next((x for x in "<>" if struct.unpack(x + "I", bom)[0] == BOM), None)
            if e is None:
                raise CaptureError(f"bad byte-order magic at offset {offset}")
            length = struct.unpack(e + "I", raw_len)[0]
            if length < 28 or length % 4:
                raise CaptureError(f"bad block length {length} at offset {offset}")
            _need(f, length - 12, "a section header", offset)
            ifaces = []
        else:
            btype, length = struct.unpack(e + "I", btype_raw)[0], struct.unpack(e + "I", raw_len)[0]
            if length < 12 or length % 4 or length > MAX_PACKET + 1024:
                raise CaptureError(f"bad block length {length} at offset {offset}")
            body = _need(f, length - 8, "a block", offset)[:-4]
            if btype == 1:  # interface description
                if len(body) < 8:
                    raise CaptureError(f"short interface block at offset {offset}")
                ifaces.append((struct.unpack_from(e + "H", body)[0], *_idb_options(body[8:], e)))
            elif btype == 6:  # enhanced packet
                if len(body) < 20:
                    raise CaptureError(f"short packet block at offset {offset}")
                idx, hi, lo, caplen, wire = struct.unpack_from(e + "IIIII", body)
                if idx >= len(ifaces):
                    raise CaptureError(f"a packet of interface {idx}, which is not described, "
                                       f"at offset {offset}")
                if 20 + caplen > len(body):
                    raise CaptureError(f"a packet longer than its block at offset {offset}")
                linktype, ticks, name = ifaces[idx]
                ts = (hi << 32) | lo
                yield Captured(ts * 1_000_000_000 // ticks, linktype, body[20:20 + caplen], wire, name)
            elif btype == 3:  # simple packet: no time, first interface
                if not ifaces or len(body) < 4:
                    raise CaptureError(f"a simple packet block without an interface at offset {offset}")
                wire = struct.unpack_from(e + "I", body)[0]
                yield Captured(0, ifaces[0][0], body[4:4 + wire], wire, ifaces[0][2])
        offset += length
        btype_raw = None


def _idb_options(opts: bytes, e: str) -> tuple[int, str | None]:
    ticks, name, pos = 1_000_000, None, 0
    while pos + 4 <= len(opts):
        code, n = struct.unpack_from(e + "HH", opts, pos)
        if code == 0:
            break
        value = opts[pos + 4:pos + 4 + n]
        if code == 2:
            name = value.decode("utf-8", "replace").rstrip("\0")
        elif code == 9 and value:
            ticks = 2 ** (value[0] & 0x7F) if value[0] & 0x80 else 10 ** value[0]
        pos += 4 + (n + 3) // 4 * 4
    return ticks, name


# -- writing ---------------------------------------------------------------

def write_pcap(f: BinaryIO, linktype: int, packets) -> None:
    """Classic pcap, nanoseconds; `packets` yields (ts_ns, data)."""
    f.write(struct.pack("<IHHiIII", PCAP_NS_MAGIC, 2, 4, 0, 0, MAX_PACKET, linktype))
    write_pcap_records(f, packets)


def write_pcap_records(f: BinaryIO, packets) -> None:
    """More records of a classic pcap `write_pcap` began."""
    for ts, data in packets:
        sec, ns = divmod(ts, 1_000_000_000)
        f.write(struct.pack("<IIII", sec, ns, len(data), len(data)) + data)


def _block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def write_pcapng(f: BinaryIO, linktype: int, names: list[str], packets) -> None:
    """pcapng with one interface per name (nanoseconds); `packets` yields
    (ts_ns, interface number, data)."""
    f.write(_block(PCAPNG, struct.pack("<IHHq", BOM, 1, 0, -1)))
    for name in names:
        raw = name.encode()
        opts = (struct.pack("<HH", 2, len(raw)) + raw + b"\0" * (-len(raw) % 4)
                + struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0))
        f.write(_block(1, struct.pack("<HHI", linktype, 0, MAX_PACKET) + opts))
    for ts, idx, data in packets:
        f.write(_block(6, struct.pack("<IIIII", idx, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data)) + data))


# -- frames -------------------------------------------------------------------

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
