"""The control socket: a Unix stream socket, one JSON request line -> one JSON reply line.

Requests: {"cmd": "stats"}, {"cmd": "show", "limit": N}, {"cmd": "flush"},
{"cmd": "timeouts", "active": S, "inactive": S}. Replies: {"ok": true, ...}
or {"ok": false, "error": "..."}. The daemon supplies the handler.

Access: the socket file is created mode 0600 (umask set around bind) and a
peer whose uid (SO_PEERCRED) is neither root nor ours is refused. A client
is served to completion before the loop goes on; a stuck one is cut off
after TIMEOUT_S.
"""
from __future__ import annotations

import json
import os
import socket
import stat
import struct
from typing import Callable

from ..export import dotted

TIMEOUT_S = 2.0
MAX_REQUEST = 1 << 16


class ControlError(Exception):
    pass


class ControlServer:
    def __init__(self, path: str, handler: Callable[[dict], dict]) -> None:
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
        sock.listen(8)
        sock.setblocking(False)
        self._sock = sock
        self._inode = os.stat(path).st_ino

    def fileno(self) -> int:
        return self._sock.fileno()

    def handle_ready(self) -> int:
        """Serve every client waiting to connect; returns how many."""
        served = 0
        while True:
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return served
            with conn:
                self._serve(conn)
            served += 1

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(TIMEOUT_S)
        try:
            uid = struct.unpack("3i", conn.getsockopt(
                socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[1]
            if uid not in (0, os.geteuid()):
                reply = {"ok": False, "error": "permission denied"}
            else:
                reply = self._answer(_read_line(conn))
            conn.sendall(json.dumps(reply, separators=(",", ":")).encode() + b"\n")
        except OSError:
            pass  # the client went away or stalled: its problem, not the probe's

    def _answer(self, line: bytes) -> dict:
        try:
            request = json.loads(line)
            if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
                raise ValueError("a request is a JSON object with a \"cmd\"")
        except ValueError as exc:
            return {"ok": False, "error": f"bad request: {exc}"}
        try:
            return {"ok": True, **self.handler(request)}
        except ControlError as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:  # a bug in one command must not stop the probe
            return {"ok": False, "error": f"internal error: {exc!r}"}

    def close(self) -> None:
        self._sock.close()
        try:  # remove the file only if it is still ours
            if os.stat(self.path).st_ino == self._inode:
                os.unlink(self.path)
        except OSError:
            pass


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while b"\n" not in data and len(data) < MAX_REQUEST:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0]


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
