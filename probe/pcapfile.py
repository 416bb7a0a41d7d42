"""Read pcap and pcapng files: (timestamp ns, linktype, frame, length on the
wire, interface) per packet.

Pure parsing over a binary file object. Problems in the file raise
`PcapError` with the offset, so the CLI can print one clear line.
"""
from __future__ import annotations

import struct
from contextlib import contextmanager
from typing import BinaryIO, Iterator, NamedTuple


class PcapError(Exception):
    pass


class Interface:
    """Where packets were captured: a pcapng interface (its id in the section,
    its if_name option), or the one interface of a classic pcap. The frames
    of one interface share the object (hashed by identity: a cheap lookup)."""

    __slots__ = ("id", "name", "linktype")

    def __init__(self, id: int, name: str | None, linktype: int) -> None:
        self.id, self.name, self.linktype = id, name, linktype

    def __repr__(self) -> str:
        return f"Interface({self.id}, {self.name!r}, {self.linktype})"


class Frame(NamedTuple):
    ts_ns: int
    linktype: int
    data: bytes
    wire_len: int  # the packet's length on the wire (the capture may hold less)
    interface: Interface


PCAP_MAGICS = {
    0xA1B2C3D4: 1000,  # microseconds
    0xA1B23C4D: 1,  # nanoseconds
}
PCAPNG_SHB = 0x0A0D0D0A
CHUNK = 1 << 20
BYTE_ORDER_MAGIC = 0x1A2B3C4D


def read(f: BinaryIO) -> Iterator[Frame]:
    yield from read_after(f, read_head(f))


def read_head(f: BinaryIO) -> bytes:
    """The first 4 bytes: they tell pcap from pcapng."""
    head = f.read(4)
    if len(head) < 4:
        raise PcapError("file too short for a capture header")
    return head


def is_pcapng(head: bytes) -> bool:
    return struct.unpack("<I", head)[0] == PCAPNG_SHB


def read_after(f: BinaryIO, head: bytes) -> Iterator[Frame]:
    """The frames of a capture whose first 4 bytes, `head`, were read already."""
    reader = _read_pcapng if is_pcapng(head) else _read_pcap
    with malformed():
        yield from reader(f, head)


@contextmanager
def malformed() -> Iterator[None]:
    """A block or option shorter than its fields: one PcapError."""
    try:
        yield
    except (struct.error, IndexError, ZeroDivisionError) as exc:
        raise PcapError(f"malformed capture file: {exc}") from None


class PcapHeader(NamedTuple):
    endian: str  # "<" or ">", for struct
    scale: int  # ns per unit of the records' second fraction
    limit: int  # longer records are damage, not packets
    linktype: int


def read_pcap_header(f: BinaryIO, head: bytes) -> PcapHeader:
    """The rest of a classic pcap file header (24 bytes in all)."""
    for endian in "<>":
        magic = struct.unpack(endian + "I", head)[0]
        if magic in PCAP_MAGICS:
            scale = PCAP_MAGICS[magic]
            break
    else:
        raise PcapError(f"not a pcap or pcapng file (magic {head.hex()})")
    rest = f.read(20)
    if len(rest) < 20:
        raise PcapError("truncated pcap file header")
    _, _, _, _, snaplen, linktype = struct.unpack(endian + "HHiIII", rest)
    # the link type is the low 16 bits; the upper ones say whether frames end in an FCS
    return PcapHeader(endian, scale, max(snaplen, 262144) + 65536, linktype & 0xFFFF)


def _read_pcap(f: BinaryIO, head: bytes) -> Iterator[Frame]:
    endian, scale, limit, linktype = read_pcap_header(f, head)
    iface = Interface(0, None, linktype)
    rec = struct.Struct(endian + "IIII").unpack_from
    offset = 24  # of buf[0] in the file
    buf, pos = b"", 0
    while True:
        if len(buf) - pos < 16:  # refill: one read per chunk, not two per packet
            buf, pos = buf[pos:] + f.read(CHUNK), 0
            if not buf:
                return
            if len(buf) < 16:
                raise PcapError(f"truncated record header at offset {offset}")
        sec, frac, caplen, wire_len = rec(buf, pos)
        if caplen > limit:
            raise PcapError(f"implausible record length {caplen} at offset {offset}")
        end = pos + 16 + caplen
        if end > len(buf):
            buf, pos = buf[pos:] + f.read(max(CHUNK, caplen + 16)), 0
            end = 16 + caplen
            if end > len(buf):
                raise PcapError(f"truncated packet data at offset {offset}")
        yield Frame(sec * 1_000_000_000 + frac * scale, linktype, buf[pos + 16:end], wire_len, iface)
        offset += end - pos
        pos = end


def _read_pcapng(f: BinaryIO, head: bytes) -> Iterator[Frame]:
    section = PcapngSection()
    block = section.block(f, head, 0)
    offset = 0
    while block is not None:
        length, frame = block
        if frame is not None:
            yield frame
        offset += length
        block = section.next_block(f, offset)


class PcapngSection:
    """pcapng's reading state (byte order, interfaces), one block at a time
    (this reader's, and the fast engine's for the blocks it does not walk)."""

    def __init__(self) -> None:
        self.endian = "<"
        self.interfaces: list[tuple[Interface, int]] = []  # (interface, ticks per second)

    def next_block(self, f: BinaryIO, offset: int) -> tuple[int, Frame | None] | None:
        """The block at `offset` (None at the end of the file)."""
        block_type_raw = f.read(4)
        if not block_type_raw:
            return None
        if len(block_type_raw) < 4:
            raise PcapError(f"truncated block at offset {offset}")
        return self.block(f, block_type_raw, offset)

    def block(self, f: BinaryIO, block_type_raw: bytes, offset: int) -> tuple[int, Frame | None]:
        """The rest of the block at `offset` whose type field was read from `f`:
        (its length, its packet or None)."""
        endian = self.endian
        length_raw = f.read(4)
        if len(length_raw) < 4:
            raise PcapError(f"truncated block at offset {offset}")
        if struct.unpack("<I", block_type_raw)[0] == PCAPNG_SHB:
            bom = f.read(4)
            if len(bom) < 4:
                raise PcapError(f"truncated section header at offset {offset}")
            endian = self.endian = "<" if struct.unpack("<I", bom)[0] == BYTE_ORDER_MAGIC else ">"
            if struct.unpack(endian + "I", bom)[0] != BYTE_ORDER_MAGIC:
                raise PcapError(f"bad byte-order magic at offset {offset}")
            self.interfaces = []
            body_prefix = bom
        else:
            body_prefix = b""
        interfaces = self.interfaces
        btype = struct.unpack(endian + "I", block_type_raw)[0]
        length = struct.unpack(endian + "I", length_raw)[0]
        if length < 12 or length % 4:
            raise PcapError(f"bad block length {length} at offset {offset}")
        body = body_prefix + f.read(length - 8 - len(body_prefix))
        if len(body) < length - 8:
            raise PcapError(f"truncated block at offset {offset}")
        body = body[:-4]  # trailing length copy
        if btype == 1:  # interface description
            linktype, _, _ = struct.unpack_from(endian + "HHI", body)
            ticks, name = _idb_options(body[8:], endian)
            interfaces.append((Interface(len(interfaces), name, linktype), ticks))
        elif btype in (6, 2):  # enhanced packet, obsolete packet
            if btype == 6:
                index, hi, lo, caplen, wire_len = struct.unpack_from(endian + "IIIII", body)
            else:
                index, _, hi, lo, caplen, wire_len = struct.unpack_from(endian + "HHIIII", body)
            if index >= len(interfaces):
                raise PcapError(f"packet for unknown interface {index} at offset {offset}")
            iface, ticks = interfaces[index]
            data = body[20:20 + caplen]  # both layouts: 20 bytes before the data
            ts = (hi << 32) | lo
            return length, Frame(ts * 1_000_000_000 // ticks, iface.linktype, data, wire_len, iface)
        elif btype == 3:  # simple packet: no timestamp
            if not interfaces:
                raise PcapError(f"simple packet before any interface at offset {offset}")
            (wire_len,) = struct.unpack_from(endian + "I", body)
            iface = interfaces[0][0]
            return length, Frame(0, iface.linktype, body[4:4 + wire_len], wire_len, iface)
        return length, None


def _idb_options(options: bytes, endian: str) -> tuple[int, str | None]:
    """Ticks per second (if_tsresol, default microseconds) and if_name of an IDB."""
    ticks, name = 0, None
    pos = 0
    while pos + 4 <= len(options):
        code, olen = struct.unpack_from(endian + "HH", options, pos)
        if code == 0:
            break
        if code == 9 and not ticks and olen >= 1 and pos + 4 < len(options):
            v = options[pos + 4]
            ticks = 2 ** (v & 0x7F) if v & 0x80 else 10 ** v
        elif code == 2 and name is None:
            name = options[pos + 4:pos + 4 + olen].decode("utf-8", "replace").rstrip("\0")
        pos += 4 + ((olen + 3) & ~3)
    return ticks or 1_000_000, name
