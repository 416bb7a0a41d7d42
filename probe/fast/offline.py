"""Offline mode on the fast engine: a capture file, one chunk per call.

Classic pcap is walked by the compiled engine itself, a few MiB at a time
(`walk_pcap`); pcapng goes through the reference reader, frame by frame.
Same outcome as probe/offline.py: the probe starts at the first packet's
time, a damaged file still exports what was read before the damage, and the
errors read the same.
"""
from __future__ import annotations

import struct
from typing import BinaryIO, Callable

from ..pcapfile import PcapError, PcapHeader, is_pcapng, read_after, read_head, read_pcap_header
from ._engine import PCAP_BAD_LENGTH
from .engine import FastDatagram, FastProbe

CHUNK = 4 << 20


def run_file(f: BinaryIO, make_probe: Callable[[int | None], FastProbe],
             send: Callable[[FastDatagram], None], ifindex: int = 0) -> FastProbe:
    """Feed every frame of `f` to `make_probe(None)` (a probe that starts at the
    first frame), then flush. `send` gets the datagrams after each chunk."""
    probe = make_probe(None)
    try:
        head = read_head(f)
        if is_pcapng(head):
            _frames(probe, f, head, send, ifindex)
        else:
            _walk(probe, f, read_pcap_header(f, head), send, ifindex)
    finally:  # a file cut short (PcapError) still exports what was read
        probe.flush(probe.engine.last_frame_ms, "shutdown")  # the file's clock at its end
        _send(probe, send)
    return probe


def _send(probe: FastProbe, send) -> None:
    for d in probe.datagrams_to_send():
        send(d)


def _walk(probe: FastProbe, f: BinaryIO, header: PcapHeader, send, ifindex: int) -> None:
    walk, big = probe.walk_pcap, header.endian == ">"
    rec = struct.Struct(header.endian + "IIII").unpack_from
    buf = bytearray(CHUNK)
    offset = 24  # of buf[0] in the file
    have = 0  # bytes in buf: a record cut by the last read, then fresh ones
    while True:
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
        if have >= 16 and 16 + rec(buf, 0)[2] > len(buf):  # a record longer than buf
            buf.extend(bytes(16 + rec(buf, 0)[2] - len(buf)))
        elif len(buf) - have < CHUNK // 2:
            buf.extend(bytes(CHUNK))
    if have:
        what = "record header" if have < 16 else "packet data"
        raise PcapError(f"truncated {what} at offset {offset}")


def _frames(probe: FastProbe, f: BinaryIO, head: bytes, send, ifindex: int) -> None:
    handle, engine = probe.handle_frame, probe.engine
    for frame in read_after(f, head):
        handle(frame.data, frame.linktype, ifindex, frame.ts_ns // 1_000_000)
        if engine.out:
            _send(probe, send)
