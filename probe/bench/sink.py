"""A UDP sink on 127.0.0.1 that keeps what exporters send it; after a run,
`totals()` says how many v5 records and packets arrived."""
from __future__ import annotations

import fcntl
import socket
import struct
import termios
import threading
import time

SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
_PACKETS = struct.Struct("!I")  # a v5 record's packet count, 16 bytes in


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
        """(v5 records, packets in them) received since the last reset."""
        records = packets = 0
        for data in list(self.received):
            if len(data) < 24 or data[1] != 5:
                continue
            count = (data[2] << 8) | data[3]
            records += count
            packets += sum(_PACKETS.unpack_from(data, 24 + 48 * k + 16)[0]
                           for k in range(count) if 24 + 48 * k + 20 <= len(data))
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
