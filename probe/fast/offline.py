"""Offline mode on the fast engine: a capture file, one chunk per call.

The compiled engine walks the file itself, a few MiB at a time: every
record of a classic pcap (`walk_pcap`), the enhanced packet blocks of a
pcapng (`walk_pcapng`); the other pcapng blocks (section and interface
headers, simple packets, anything unusual or damaged) go one by one through
the reference reader's `PcapngSection`, which keeps the section's state,
and so does the first packet of each interface (its input ifindex is
resolved then, as the reference driver does). Same outcome as
probe/offline.py: the probe starts at the first packet's time, a damaged
file still exports what was read before the damage, and the errors read the
same.
"""
from __future__ import annotations

import struct
from array import array
from typing import BinaryIO, Callable, Sized

from ..decode import sll2_ifindex
from ..input_ifindex import PER_FRAME, InputIfindex
from ..engine_api import flush_streamed
from ..pcapfile import (Interface, PcapError, PcapHeader, PcapngSection, is_pcapng, malformed,
                        read_head, read_pcap_header)
from ._engine import PCAP_BAD_LENGTH, PCAPNG_MORE
from ._engine import PER_FRAME as ENGINE_PER_FRAME, UNRESOLVED
from .engine import FastDatagram, FastProbe

CHUNK = 4 << 20
MAX_MS = (1 << 63) - 1  # the compiled engine's clock: ms in 64 bits (292 million years)


def run_file(f: BinaryIO, make_probe: Callable[[int | None], FastProbe],
             send: Callable[[FastDatagram], None], ifindex: InputIfindex | None = None,
             stop: Sized = ()) -> FastProbe:
    """Feed every frame of `f` to `make_probe(None)` (a probe that starts at the
    first frame), then flush. `send` gets the datagrams after each chunk.
    A non-empty `stop` (a signal arrived) ends the reading after the chunk."""
    probe = make_probe(None)
    ifindex = ifindex or InputIfindex()
    try:
        head = read_head(f)
        if is_pcapng(head):
            _walk_pcapng(probe, _Buffer(f, head), send, ifindex, stop)
        else:
            header = read_pcap_header(f, head)
            code = _code(ifindex.of(Interface(0, None, header.linktype)))
            _walk(probe, f, header, send, code, stop)
    finally:  # a file cut short (PcapError) still exports what was read
        flush_streamed(probe, probe.engine.last_frame_ms, send)  # the file's clock at its end
    return probe


def _send(probe: FastProbe, send) -> None:
    for d in probe.datagrams_to_send():
        send(d)


def _code(ifindex: int | None) -> int:
    """An interface's input ifindex, as the compiled walks take it."""
    return ENGINE_PER_FRAME if ifindex is PER_FRAME else ifindex


def _walk(probe: FastProbe, f: BinaryIO, header: PcapHeader, send, ifindex: int,
          stop: Sized) -> None:
    walk, big = probe.walk_pcap, header.endian == ">"
    rec = struct.Struct(header.endian + "IIII").unpack_from
    buf = bytearray(CHUNK)
    offset = 24  # of buf[0] in the file
    have = 0  # bytes in buf: a record cut by the last read, then fresh ones
    while not stop:
        n = f.readinto(memoryview(buf)[have:])
        if not n:
            break
        have += n
        view = memoryview(buf)[:have]
        pos, status = walk(view, 0, header.linktype, header.scale, big, header.limit, ifindex)
        if status == PCAP_BAD_LENGTH:
            caplen = rec(buf, pos)[2]
            raise PcapError(f"implausible record length {caplen} at offset {offset + pos}")
        view.release()
        _send(probe, send)
        offset += pos
        have -= pos
        buf[:have] = buf[pos:pos + have]
        need = 16 + rec(buf, 0)[2] if have >= 16 else 0
        if need > len(buf):  # a record longer than buf: grow as its bytes come in
            buf.extend(bytes(min(need, 2 * len(buf)) - len(buf)))  # (a damaged length: no GiB)
        elif len(buf) - have < CHUNK // 2:
            buf.extend(bytes(CHUNK))
    if have and not stop:
        what = "record header" if have < 16 else "packet data"
        raise PcapError(f"truncated {what} at offset {offset}")


class _Buffer:
    """A file read in big chunks, for the compiled walk and the reference
    block reader in turn (`read` makes it a file for the latter)."""

    def __init__(self, f: BinaryIO, head: bytes) -> None:
        self.f = f
        self.buf = bytearray(head)
        self.pos = 0

    def fill(self, need: int) -> bool:
        """At least `need` bytes from pos on, if the file has them; False when
        it had nothing more."""
        if len(self.buf) - self.pos >= need:
            return True
        del self.buf[:self.pos]
        self.pos = 0
        data = self.f.read(max(CHUNK, need - len(self.buf)))
        self.buf += data
        return bool(data)

    def read(self, n: int) -> bytes:
        self.fill(n)
        out = bytes(self.buf[self.pos:self.pos + n])
        self.pos += len(out)
        return out


# timestamp units the compiled walk takes: 10^-k s -> ns per tick
_NS_PER_TICK = {10 ** k: 10 ** (9 - k) for k in range(10)}


def _walk_pcapng(probe: FastProbe, src: _Buffer, send, ifindex: InputIfindex,
                 stop: Sized) -> None:
    section = PcapngSection()
    offset = 0  # in the file, of src.buf[src.pos]
    units, known = None, None
    codes: dict[Interface, int] = {}  # the input ifindex of the interfaces seen in packets
    with malformed():
        while not stop:
            if units is not None:  # the plain packet blocks, compiled
                pos, status, need = probe.engine.walk_pcapng(src.buf, src.pos, section.endian == ">",
                                                             *units)
                offset += pos - src.pos
                src.pos = pos
                _send(probe, send)
                if status == PCAPNG_MORE and src.fill(need):
                    continue
            block = section.next_block(src, offset)  # one block, the reference reader's way
            if block is None:
                return
            length, frame = block
            if frame is not None:
                now = frame.ts_ns // 1_000_000
                if now > MAX_MS:  # the reference engine takes it; 64-bit times cannot
                    raise PcapError(f"timestamp out of range at offset {offset}")
                iface = frame.interface
                if iface not in codes:
                    codes[iface] = _code(ifindex.of(iface))
                idx = codes[iface]
                probe.handle_frame(frame.data, frame.linktype,
                                   sll2_ifindex(frame.data) if idx == ENGINE_PER_FRAME else idx,
                                   now, frame.wire_len)
                _send(probe, send)
            offset += length
            if known != (id(section.interfaces), len(section.interfaces), len(codes)):
                known = (id(section.interfaces), len(section.interfaces), len(codes))
                units = (array("i", [i.linktype for i, _ in section.interfaces]),
                         array("q", [_NS_PER_TICK.get(t, 0) for _, t in section.interfaces]),
                         array("q", [codes.get(i, UNRESOLVED) for i, _ in section.interfaces]))
