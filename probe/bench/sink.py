"""A UDP sink on 127.0.0.1 that keeps what exporters send it; after a run,
`totals()` says how many v5 or v9 records and packets arrived (v9: read with
the template the exporter sent, RFC 3954; IN_PKTS of 4 bytes)."""
from __future__ import annotations

import fcntl
import socket
import struct
import termios
import threading
import time

SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
_PACKETS = struct.Struct("!I")  # a v5 record's packet count, 16 bytes in
_SET = struct.Struct("!HH")  # v9: set id, length
IN_PKTS = 2


class UdpSink:
    def __init__(self, rcvbuf: int = 64 << 20) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:  # root may exceed net.core.rmem_max: a burst at EOF must not be dropped here
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []  # decoded after the run: the sink stays cheap
        self._last = time.monotonic()
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                data = self.sock.recv(65535)
            except socket.timeout:
                continue
            self.received.append(data)
            self._last = time.monotonic()

    @property
    def datagrams(self) -> int:
        return len(self.received)

    @property
    def records(self) -> int:
        return self.totals()[0]

    def totals(self) -> tuple[int, int]:
        """(v5 or v9 records, packets in them) received since the last reset."""
        records = packets = 0
        templates: dict[int, tuple[int, int]] = {}  # v9: id -> (record size, IN_PKTS offset)
        for data in list(self.received):
            if len(data) >= 24 and data[1] == 5:
                count = (data[2] << 8) | data[3]
                records += count
                packets += sum(_PACKETS.unpack_from(data, 24 + 48 * k + 16)[0]
                               for k in range(count) if 24 + 48 * k + 20 <= len(data))
            elif len(data) >= 20 and data[1] == 9:
                r, p = _v9(data, templates)
                records, packets = records + r, packets + p
        return records, packets

    def reset(self) -> None:
        self.received = []

    def settle(self, quiet_s: float = 0.3) -> None:
        """Return once the socket is drained and nothing has arrived for
        `quiet_s` seconds (counted from this call at the earliest: on a busy
        machine the receiving thread can lag behind a sender that exited)."""
        start = time.monotonic()
        while (self._pending() or
               time.monotonic() - max(self._last, start) < quiet_s):
            time.sleep(0.05)

    def _pending(self) -> int:
        """Bytes of the next datagram waiting in the socket (SIOCINQ)."""
        return struct.unpack("i", fcntl.ioctl(self.sock.fileno(), termios.FIONREAD,
                                              b"\0\0\0\0"))[0]

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        self.sock.close()

    def __enter__(self) -> "UdpSink":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _v9(data: bytes, templates: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """(records, packets) of one v9 datagram; learns the templates it carries."""
    records = packets = 0
    off = 20
    while off + 4 <= len(data):
        set_id, length = _SET.unpack_from(data, off)
        if length < 4:
            break
        if set_id == 0:  # template records: id, field count, (type, length)...
            pos = off + 4
            while pos + 4 <= off + length:
                tid, n = _SET.unpack_from(data, pos)
                fields = [_SET.unpack_from(data, pos + 4 + 4 * i) for i in range(n)]
                at = [sum(size for _, size in fields[:i]) for i, (t, _) in enumerate(fields)
                      if t == IN_PKTS]
                templates[tid] = (sum(size for _, size in fields), at[0] if at else -1)
                pos += 4 + 4 * n
        elif set_id in templates:
            size, at = templates[set_id]
            n = (length - 4) // size
            records += n
            if at >= 0:
                packets += sum(_PACKETS.unpack_from(data, off + 4 + k * size + at)[0]
                               for k in range(n))
        off += length
    return records, packets
