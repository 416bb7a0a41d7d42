"""The UDP socket and its receive loop (the only I/O of the collector).

Works in whatever network namespace the process runs in. The receive buffer
is made large so that a burst of exports waits in the kernel rather than
being dropped, and the kernel stamps each datagram's arrival (SO_TIMESTAMPNS)
so that a backlog does not skew receive times. The kernel's drop counter for
the socket, and what was left unread, are reported at the end: the proof
that nothing was lost here.
"""
from __future__ import annotations

import os
import socket
import struct
import time
from dataclasses import dataclass
from typing import Callable

# Linux <asm-generic/socket.h>; Python does not export these.
SO_RCVBUFFORCE = 33  # as root: beyond net.core.rmem_max
SO_TIMESTAMPNS = 35
RCVBUF = 16 << 20
POLL_S = 0.2  # how often a blocked receive looks at the stop flag
FLUSH_S = 0.1  # flush the output at least this often while datagrams keep coming
DRAIN_S = 5.0  # at most this long to empty the buffer after stop (a sender may not stop)
MAX_DATAGRAM = 65535


@dataclass
class LoopStats:
    datagrams: int = 0
    busy_s: float = 0.0  # time spent handling datagrams (not waiting)


def open_socket(host: str, port: int, rcvbuf: int = RCVBUF) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
    except OSError:  # not root: capped at net.core.rmem_max
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        pass  # fall back to the clock at processing time
    sock.bind((host, port))
    return sock


def rcvbuf_bytes(sock: socket.socket) -> int:
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


def socket_counters(sock: socket.socket) -> dict[str, int]:
    """From /proc/net/udp (this namespace): bytes still queued for the socket and
    datagrams the kernel dropped because its buffer was full."""
    inode = str(os.fstat(sock.fileno()).st_ino)
    try:
        with open("/proc/net/udp", encoding="ascii") as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[9] == inode:
                    return {"unread_bytes": int(cols[4].partition(":")[2], 16), "socket_drops": int(cols[-1])}
    except (OSError, IndexError, ValueError):
        pass
    return {}


def _recv_ms(ancillary: list) -> int:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            secs, nsecs = struct.unpack_from("qq", data)
            return secs * 1000 + nsecs // 1_000_000
    return time.time_ns() // 1_000_000


def serve(sock: socket.socket, handle: Callable[[bytes, tuple[str, int], int], None],
          should_stop: Callable[[], bool], deadline: float | None = None,
          idle: Callable[[], None] = lambda: None) -> LoopStats:
    """Hand every datagram to `handle(data, source, recv_ms)` until should_stop()
    or the time.monotonic() deadline, then drain what the kernel still holds."""
    stats = LoopStats()

    def one(data, ancillary, source):
        t0 = time.perf_counter()
        handle(data, source, _recv_ms(ancillary))
        stats.busy_s += time.perf_counter() - t0
        stats.datagrams += 1

    timeout = None
    flushed = time.monotonic()
    while not should_stop():
        wait = POLL_S if deadline is None else min(POLL_S, deadline - time.monotonic())
        if wait <= 0:
            break
        if wait != timeout:
            sock.settimeout(timeout := wait)
        try:
            data, ancillary, _, source = sock.recvmsg(MAX_DATAGRAM, 256)
        except TimeoutError:
            idle()
            continue
        one(data, ancillary, source)
        if time.monotonic() - flushed > FLUSH_S:  # readers of the file see a busy stream too
            idle()
            flushed = time.monotonic()
    sock.setblocking(False)
    drain_until = time.monotonic() + DRAIN_S
    while time.monotonic() < drain_until:
        try:
            data, ancillary, _, source = sock.recvmsg(MAX_DATAGRAM, 256)
        except (BlockingIOError, InterruptedError):
            break
        one(data, ancillary, source)
    return stats
