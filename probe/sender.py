"""UDP export to one or several collectors (each datagram goes to each).

One connected, non-blocking UDP socket per collector. What can go wrong:
* a hard error (ECONNREFUSED: the collector's port is closed; ENETUNREACH,
  EHOSTUNREACH: no route) counts one in stats.send_errors per datagram and
  collector, and the probe goes on. On a connected socket an ICMP error of
  an EARLIER datagram is reported by the NEXT send, which then transmits
  nothing: so after a hard error the datagram is sent once more, and given
  up (counted in `lost`) only if that fails too.
* ENOBUFS / EAGAIN (a full queue) are transient: retried up to RETRIES
  times after a short wait, each retry counted in stats.send_retries.
A datagram that went out to at least one collector counts once in
stats.datagrams_sent, and its records (the v5 header's count) in
stats.records_sent: what left, counted when it leaves.
"""
from __future__ import annotations

import errno
import select
import socket
import time

TRANSIENT = {errno.ENOBUFS, errno.EAGAIN}
RETRIES = 5
RETRY_WAIT_S = 0.002


class _Peer:
    def __init__(self, host: str, port: int) -> None:
        family, kind, proto, _, self.addr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        self.sock = socket.socket(family, kind, proto)
        self.sock.setblocking(False)
        self.connected = False

    def send(self, data: bytes) -> None:
        if not self.connected:  # connect() fails while there is no route
            self.sock.connect(self.addr)
            self.connected = True
        self.sock.send(data)


class Sender:
    def __init__(self, collectors: list[tuple[str, int]], stats) -> None:
        self.stats = stats
        self.lost = 0
        self.peers: list[_Peer] = []
        try:
            for host, port in collectors:
                self.peers.append(_Peer(host, port))
        except BaseException:
            self.close()
            raise

    def send(self, data: bytes) -> int:
        """Send one v5 datagram to every collector; returns to how many it went out."""
        went = sum(self._send_one(peer, data) for peer in self.peers)
        if went:
            self.stats.datagrams_sent += 1
            self.stats.records_sent += int.from_bytes(data[2:4], "big")  # the header's count
        return went

    def _send_one(self, peer: _Peer, data: bytes) -> bool:
        hard_errors = retries = 0
        while True:
            try:
                peer.send(data)
                return True
            except OSError as exc:
                if exc.errno in TRANSIENT:
                    if retries < RETRIES:
                        retries += 1
                        self.stats.send_retries += 1
                        if exc.errno == errno.EAGAIN:
                            select.select([], [peer.sock], [], RETRY_WAIT_S)
                        else:
                            time.sleep(RETRY_WAIT_S)
                        continue
                    self.stats.send_errors += hard_errors == 0
                else:
                    hard_errors += 1
                    if hard_errors == 1:
                        self.stats.send_errors += 1
                        continue  # maybe an earlier datagram's ICMP: once more
                self.lost += 1
                self.stats.send_lost += 1
                return False

    def close(self) -> None:
        for peer in self.peers:
            peer.sock.close()
