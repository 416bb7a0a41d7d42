"""A UDP sink on 127.0.0.1 that counts what exporters send it (datagrams, v5 records)."""
from __future__ import annotations

import socket
import threading
import time

SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)


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
        self.datagrams = self.records = 0
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
            self.datagrams += 1
            if len(data) >= 4 and data[1] == 5:  # v5: count in bytes 2-3
                self.records += (data[2] << 8) | data[3]
            self._last = time.monotonic()

    def reset(self) -> None:
        self.datagrams = self.records = 0

    def settle(self, quiet_s: float = 0.3) -> None:
        """Return once nothing has arrived for `quiet_s` seconds."""
        while time.monotonic() - self._last < quiet_s:
            time.sleep(0.05)

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        self.sock.close()

    def __enter__(self) -> "UdpSink":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
