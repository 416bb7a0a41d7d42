"""Live capture: one AF_PACKET socket with a TPACKET_V3 memory-mapped RX ring.

The socket is bound to every interface of the namespace; a classic BPF filter
in the kernel keeps only frames received (not sent) on the named interfaces
and cuts each to the snap length, so the ring holds headers only. Frames
come out as (ifindex, ts_ns, frame, wire_len): the ifindex is the receiving
interface's, from the frame's sockaddr_ll; wire_len the frame's length on the
wire (BIG TCP's IPv4 header leaves it to that). A block is handed to user space
when full or after `retire_ms` on a quiet link, so records never wait for
traffic to fill a block.

Why a filter for the snap length: with TPACKET_V3 frames are packed into
blocks and the ring's frame size does not cut them; the filter's return
value does (what libpcap does too). tp_snaplen then says what was kept.
Interfaces that appear after the start are not captured (the filter holds
the indexes of the named ones).
"""
from __future__ import annotations

import ctypes
import mmap
import os
import socket
import struct

from . import ring

SOL_PACKET = 263
PACKET_RX_RING = 5
PACKET_STATISTICS = 6
PACKET_VERSION = 10
PACKET_IGNORE_OUTGOING = 23
TPACKET_V3 = 2
SO_ATTACH_FILTER = 26
ETH_P_ALL = 0x0003

SNAPLEN = 128  # Ethernet + 2 VLAN tags + IPv4 with options + TCP flags fit


class Capture:
    def __init__(self, ifnames: list[str], *, snaplen: int = SNAPLEN,
                 block_size: int = 1 << 18, block_nr: int = 32,
                 retire_ms: int = 5, max_blocks: int = 8) -> None:
        if not ifnames:
            raise ValueError("no interface to capture on")
        self.ifindexes = {name: _ifindex(name) for name in ifnames}
        self.retire_ms = retire_ms
        self._block_size = block_size
        self._block_nr = block_nr
        self._max_blocks = max_blocks  # per read_batch: keep the loop responsive
        self._cur = 0
        self._packets = self._drops = 0
        # protocol 0: nothing is queued until the filter is in place and bound
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        try:
            fprog, code = _filter_prog(self.ifindexes.values(), snaplen)
            sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
            del code  # the kernel has its own copy now
            try:  # Linux >= 4.20: outgoing frames never reach the socket
                sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            except OSError:
                pass  # the BPF filter (and parse_block) skip them anyway
            sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
            frame_size = 2048  # V3 packs frames; only used for the sanity check
            req = struct.pack("=7I", block_size, block_nr, frame_size,
                              block_size // frame_size * block_nr, retire_ms, 0, 0)
            sock.setsockopt(SOL_PACKET, PACKET_RX_RING, req)
            self._ring = mmap.mmap(sock.fileno(), block_size * block_nr,
                                   mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            _bind_all(sock)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self._sock = sock

    def fileno(self) -> int:
        return self._sock.fileno()

    def read_batch(self) -> list[tuple[int, int, bytes, int]]:
        """Frames of the blocks the kernel has retired; [] if none (never blocks)."""
        out: list[tuple[int, int, bytes, int]] = []
        self.walk_blocks(lambda buf, base: ring.parse_block(buf, base, out))
        return out

    def walk_blocks(self, walk) -> int:
        """Hand each retired block to `walk(ring, offset)`, then back to the
        kernel; returns how many (never blocks). The fast engine walks a
        block itself: no frame is copied out of the ring."""
        buf, size = self._ring, self._block_size
        for n in range(self._max_blocks):
            base = self._cur * size
            if not ring.block_ready(buf, base):
                return n
            walk(buf, base)
            ring.release_block(buf, base)
            self._cur = (self._cur + 1) % self._block_nr
        return self._max_blocks

    def stats(self) -> tuple[int, int]:
        """(packets, drops) since start, from the kernel (reads reset it: we add up)."""
        raw = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 12)
        packets, drops, _freeze = struct.unpack("=III", raw)
        self._packets += packets  # tp_packets already includes the drops
        self._drops += drops
        return self._packets, self._drops

    def close(self) -> None:
        if self._sock.fileno() != -1:
            self._ring.close()
            self._sock.close()

    def __enter__(self) -> "Capture":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _ifindex(name: str) -> int:
    try:
        return socket.if_nametoindex(name)
    except OSError:
        raise ValueError(f"no interface {name!r} in this network namespace") from None


def _bind_all(sock: socket.socket) -> None:
    """bind(ETH_P_ALL, ifindex 0 = every interface): Python's bind() needs a name."""
    addr = struct.pack("=HHiHBB8s", socket.AF_PACKET, socket.htons(ETH_P_ALL), 0, 0, 0, 0, b"")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.bind(sock.fileno(), addr, len(addr)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"bind AF_PACKET: {os.strerror(err)}")


# classic BPF (linux/filter.h)
_LD_W_ABS, _JEQ_K, _RET_K = 0x20, 0x15, 0x06
_SKF_AD_OFF = -0x1000
_SKF_AD_PKTTYPE, _SKF_AD_IFINDEX = 4, 8


def _filter_prog(ifindexes, snaplen: int):
    """struct sock_fprog for: ingress on one of `ifindexes` ? snaplen : drop.

    Returns (fprog bytes, the instruction buffer it points to: keep it alive).
    """
    idx = list(ifindexes)
    n = len(idx)
    if n > 200:
        raise ValueError("too many interfaces for one filter")
    ins = [(_LD_W_ABS, 0, 0, (_SKF_AD_OFF + _SKF_AD_PKTTYPE) & 0xFFFFFFFF)]
    # from the k-th of these jumps, "drop" is 2 + n - k instructions ahead
    ins.append((_JEQ_K, 1 + n + 1, 0, ring.PACKET_OTHERHOST))
    ins.append((_JEQ_K, n + 1, 0, ring.PACKET_OUTGOING))
    ins.append((_LD_W_ABS, 0, 0, (_SKF_AD_OFF + _SKF_AD_IFINDEX) & 0xFFFFFFFF))
    for k, ifindex in enumerate(idx):
        ins.append((_JEQ_K, n - k, 0, ifindex))  # -> accept
    ins.append((_RET_K, 0, 0, 0))  # drop
    ins.append((_RET_K, 0, 0, snaplen))  # accept
    code = b"".join(struct.pack("=HBBI", *i) for i in ins)
    buf = ctypes.create_string_buffer(code, len(code))
    return struct.pack("=HxxxxxxQ", len(ins), ctypes.addressof(buf)), buf
