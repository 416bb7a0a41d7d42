"""The control socket: a Unix stream socket, one JSON request line -> one JSON reply line.

Requests: {"cmd": "stats"}, {"cmd": "show", "limit": N}, {"cmd": "flush"},
{"cmd": "timeouts", "active": S, "inactive": S}. Replies: {"ok": true, ...}
or {"ok": false, "error": "..."}. The daemon supplies the handler.

Access: the socket file is created mode 0600 (umask set around bind) and a
peer whose uid (SO_PEERCRED) is neither root nor ours is refused.

The capture loop never waits for a client. Everything is non-blocking and
the server keeps its sockets in its own epoll set: `fileno()` (that set) is
readable when a client can be accepted, read or written, and the loop calls
`handle_ready()`, which does what can be done now and returns. Per client:
a request of at most MAX_REQUEST bytes, at most CLIENT_S seconds from accept
to the end of the reply (`next_deadline()` tells the loop when to come back
to cut it off), and at most one chunk of its reply buffered: a reply value
that is an iterator (the flows of `show`) is encoded STREAM_CHUNK items at a
time, as the client reads, into the same single JSON line. At most
MAX_CLIENTS at once; one more is told "busy" and closed.
"""
from __future__ import annotations

import json
import os
import select
import socket
import stat
import struct
import time
from collections.abc import Iterator
from itertools import islice
from typing import Callable

from ..export import dotted

CLIENT_S = 5.0  # from accept to the last byte of the reply
MAX_REQUEST = 1 << 16
MAX_CLIENTS = 16
MAX_ACCEPTS = 64  # per handle_ready: a flood of connections cannot hold the loop
STREAM_CHUNK = 256  # streamed items encoded per write
UNIX_PATH_MAX = 107  # sun_path is 108 bytes, with its terminating NUL
_JSON = json.JSONEncoder(separators=(",", ":")).encode


class ControlError(Exception):
    pass


def check_path(path: str) -> None:
    """A path a Unix socket can have (ControlError otherwise)."""
    if len(os.fsencode(path)) > UNIX_PATH_MAX:
        raise ControlError(f"control socket {path}: path too long for a Unix socket "
                           f"({len(os.fsencode(path))} bytes, at most {UNIX_PATH_MAX})")


class _Client:
    def __init__(self, conn: socket.socket, deadline: float) -> None:
        self.conn = conn
        self.deadline = deadline
        self.request = bytearray()
        self.out = b""  # encoded, not yet written
        self.chunks: Iterator[bytes] | None = None  # the rest of the reply


class ControlServer:
    def __init__(self, path: str, handler: Callable[[dict], dict]) -> None:
        check_path(path)
        self.path = path
        self.handler = handler
        _clear_stale(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        old = os.umask(0o177)
        try:
            sock.bind(path)
        except OSError as exc:
            sock.close()
            raise ControlError(f"control socket {path}: {exc.strerror}") from None
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        sock.listen(MAX_CLIENTS)
        sock.setblocking(False)
        self._sock = sock
        self._inode = os.stat(path).st_ino
        self._epoll = select.epoll(flags=select.EPOLL_CLOEXEC)
        self._epoll.register(sock.fileno(), select.EPOLLIN)
        self._clients: dict[int, _Client] = {}

    def fileno(self) -> int:
        return self._epoll.fileno()

    def next_deadline(self) -> float | None:
        """time.monotonic() by which handle_ready() must run again (None: no client)."""
        return min((c.deadline for c in self._clients.values()), default=None)

    def handle_ready(self) -> int:
        """Do what can be done without waiting; returns how many clients were accepted."""
        accepted = 0
        for fd, events in self._epoll.poll(0, MAX_CLIENTS + 1):
            if fd == self._sock.fileno():
                accepted += self._accept()
                continue
            client = self._clients.get(fd)
            if client is None:
                continue
            try:
                if client.chunks is None:
                    if not events & select.EPOLLIN:  # an error or hang-up, nothing to read
                        raise ConnectionError
                    self._read(client)
                if client.chunks is not None:
                    self._write(client)
            except OSError:  # the client went away: its problem, not the probe's
                self._drop(client)
        now = time.monotonic()
        for client in [c for c in self._clients.values() if c.deadline <= now]:
            self._drop(client)  # idle, trickling or not reading: cut off
        return accepted

    def _accept(self) -> int:
        accepted = 0
        while accepted < MAX_ACCEPTS:
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # e.g. EMFILE: try again at the next turn
                break
            accepted += 1
            conn.setblocking(False)
            if len(self._clients) >= MAX_CLIENTS:
                _say(conn, {"ok": False, "error": f"busy: {MAX_CLIENTS} clients already"})
                continue
            client = _Client(conn, time.monotonic() + CLIENT_S)
            self._clients[conn.fileno()] = client
            self._epoll.register(conn.fileno(), select.EPOLLIN)
            if _peer_uid(conn) not in (0, os.geteuid()):
                self._reply(client, {"ok": False, "error": "permission denied"})
        return accepted

    def _read(self, client: _Client) -> None:
        try:
            data = client.conn.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        client.request += data
        line, newline, _ = client.request.partition(b"\n")
        if newline or not data:  # a request ends at its newline, or when the client shuts down
            if not line.strip() and not data:
                self._drop(client)  # went away without asking anything
                return
            self._reply(client, self._answer(bytes(line)))
        elif len(client.request) > MAX_REQUEST:
            self._reply(client, {"ok": False, "error": f"bad request: longer than {MAX_REQUEST} bytes"})

    def _reply(self, client: _Client, reply: dict) -> None:
        client.chunks = _encode(reply)
        self._epoll.modify(client.conn.fileno(), select.EPOLLOUT)

    def _write(self, client: _Client) -> None:
        if not client.out:
            client.out = next(client.chunks, b"")
            if not client.out:
                self._drop(client)  # all written
                return
        try:
            sent = client.conn.send(client.out)
        except (BlockingIOError, InterruptedError):
            return
        client.out = client.out[sent:]

    def _answer(self, line: bytes) -> dict:
        try:
            request = json.loads(line)
            if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
                raise ValueError("a request is a JSON object with a \"cmd\"")
        except ValueError as exc:  # UnicodeDecodeError included
            return {"ok": False, "error": f"bad request: {exc}"}
        except RecursionError:
            return {"ok": False, "error": "bad request: nested too deeply"}
        try:
            return {"ok": True, **self.handler(request)}
        except ControlError as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:  # a bug in one command must not stop the probe
            return {"ok": False, "error": f"internal error: {exc!r}"}

    def _drop(self, client: _Client) -> None:
        fd = client.conn.fileno()
        if self._clients.pop(fd, None) is not None:
            self._epoll.unregister(fd)
        client.conn.close()

    def close(self) -> None:
        for client in list(self._clients.values()):
            self._drop(client)
        self._epoll.close()
        self._sock.close()
        try:  # remove the file only if it is still ours
            if os.stat(self.path).st_ino == self._inode:
                os.unlink(self.path)
        except OSError:
            pass


def _encode(reply: dict) -> Iterator[bytes]:
    """The reply as one JSON line, in pieces; iterator values become arrays,
    encoded STREAM_CHUNK items at a time (so `show` never builds all at once)."""
    streamed = {k: v for k, v in reply.items() if isinstance(v, Iterator)}
    if not streamed:
        yield _JSON(reply).encode() + b"\n"
        return
    plain = _JSON({k: v for k, v in reply.items() if k not in streamed})
    yield (plain[:-1] + ("," if len(plain) > 2 else "")).encode()
    for n, (key, items) in enumerate(streamed.items()):
        yield (("," if n else "") + _JSON(key) + ":[").encode()
        sep = ""
        while chunk := list(islice(items, STREAM_CHUNK)):
            yield (sep + ",".join(map(_JSON, chunk))).encode()
            sep = ","
        yield b"]"
    yield b"}\n"


def _say(conn: socket.socket, reply: dict) -> None:
    """A short reply to a fresh connection (its buffer is empty), then close it."""
    try:
        conn.send(_JSON(reply).encode() + b"\n")
    except OSError:
        pass
    conn.close()


def _peer_uid(conn: socket.socket) -> int:
    return struct.unpack("3i", conn.getsockopt(
        socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[1]


def _clear_stale(path: str) -> None:
    """Remove a socket left by a dead probe; refuse if one still answers."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ControlError(f"control socket {path}: exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        os.unlink(path)
        return
    except OSError as exc:
        raise ControlError(f"control socket {path}: {exc.strerror}") from None
    finally:
        probe.close()
    raise ControlError(f"control socket {path}: another probe is listening there")


def flow_view(flow, now_ms: int) -> dict:
    """A cache entry as `show` reports it (addresses dotted, ages in ms)."""
    k = flow.key
    return {
        "src": dotted(k.src), "dst": dotted(k.dst), "sport": k.sport, "dport": k.dport,
        "proto": k.proto, "tos": k.tos, "in_ifindex": k.in_ifindex,
        "out_ifindex": flow.out_ifindex, "next_hop": dotted(flow.next_hop),
        "src_mask": flow.src_mask, "dst_mask": flow.dst_mask,
        "packets": flow.packets, "octets": flow.octets, "tcp_flags": flow.tcp_flags,
        "age_ms": now_ms - flow.first, "idle_ms": now_ms - flow.last,
    }
