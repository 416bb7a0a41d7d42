"""UDP export to one or several collectors (each datagram goes to each).

One connected, non-blocking UDP socket per collector, with IP_RECVERR: the
kernel queues every ICMP error that comes back for the socket, with the start
of the datagram it refers to (so its record count is known).

Accounting, for every datagram and collector, exactly one of:
* it did not leave: the kernel refused it (no route: ENETUNREACH; a broadcast
  address; a local queue still full after RETRIES retries) -> send_errors +1
  and send_lost +1;
* it left: counted in the collector's `datagrams_sent`/`records_sent`; and
  once per datagram (whatever the number of collectors it reached) in
  stats.datagrams_sent / stats.records_sent (flow records: a v9 template is
  counted in stats.templates_sent). If an ICMP error comes back for
  it later (port unreachable: nothing listens; host or net unreachable on the
  way) it is also `refused`: send_errors +1 and send_lost +1.
So per collector: built = datagrams_sent + lost, and send_lost = lost + refused
summed over the collectors; each refusal is one error, one loss, exactly.
Queued ICMP errors are read before a send goes on (a connected socket reports
an earlier ICMP by failing the next send(), which then sent nothing: that
send is retried, not counted twice), whenever the caller sees POLLERR on
`fileno()` (`collect()`), and for up to LINGER_S after the last send when the
sender is closed. An ICMP that the kernel could not queue (the queue is
bounded by the socket buffer; it is read at every send, so it holds a few)
still fails the next send: that datagram is retried and the failure counted as
one refusal of an unknown earlier datagram.
What the probe cannot see: a datagram dropped with no ICMP coming back (a
firewall, ICMP rate limits, a full receive buffer at the collector). The
collector's sequence numbers are the witness of those.
ENOBUFS / EAGAIN (a full local queue) are transient: retried up to RETRIES
times after a short wait, each retry counted in stats.send_retries.
"""
from __future__ import annotations

import errno
import select
import socket
import time

from .wire import QUOTE, facts

TRANSIENT = {errno.ENOBUFS, errno.EAGAIN}
RETRIES = 5
RETRY_WAIT_S = 0.002
LINGER_S = 0.05  # at close: how long after the last send an ICMP error may still come
IP_RECVERR = 11  # <linux/in.h>; Python does not export it
SO_EE_ORIGIN_ICMP = 2
MAX_ROUNDS = 64  # sends of one datagram interrupted by earlier datagrams' errors


class _Peer:
    def __init__(self, host: str, port: int) -> None:
        family, kind, proto, _, self.addr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        self.name = f"{host}:{port}"
        self.sock = socket.socket(family, kind, proto)
        self.sock.setblocking(False)
        if family == socket.AF_INET:
            self.sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
        self.connected = False
        try:
            self.connect()  # a broadcast address is refused here, for good
        except PermissionError:
            self.sock.close()
            raise ValueError(f"collector {self.name}: a broadcast address "
                             "(export to one collector's address)") from None
        except OSError:
            pass  # no route yet: connected at the first send
        self.datagrams_sent = self.records_sent = 0
        self.refused = self.records_refused = self.lost = 0

    def connect(self) -> None:
        if not self.connected:  # connect() fails while there is no route
            self.sock.connect(self.addr)
            self.connected = True

    def send(self, data: bytes) -> None:
        self.connect()
        self.sock.send(data)

    def report(self) -> dict:
        return {"datagrams_sent": self.datagrams_sent, "records_sent": self.records_sent,
                "refused": self.refused, "records_refused": self.records_refused,
                "lost": self.lost}


class Sender:
    def __init__(self, collectors: list[tuple[str, int]], stats) -> None:
        self.stats = stats
        self.peers: list[_Peer] = []
        self._last_send = 0.0
        try:
            for host, port in collectors:
                self.peers.append(_Peer(host, port))
        except BaseException:
            self.close()
            raise

    @property
    def lost(self) -> int:
        return sum(p.lost + p.refused for p in self.peers)

    def fileno(self) -> list[int]:
        """The sockets to watch for POLLERR (then call collect())."""
        return [p.sock.fileno() for p in self.peers]

    def send(self, data: bytes) -> int:
        """Send one export datagram to every collector; returns to how many it went out."""
        about = facts(data)
        went = sum(self._send_one(peer, data, about.records) for peer in self.peers)
        self._last_send = time.monotonic()
        if went:
            self.stats.datagrams_sent += 1
            self.stats.records_sent += about.records
            self.stats.templates_sent += about.templates
        return went

    def _send_one(self, peer: _Peer, data: bytes, records: int) -> bool:
        retries = rounds = 0
        unexplained = None  # errno of a failure no queued ICMP explained
        while rounds < MAX_ROUNDS:
            rounds += 1
            try:
                peer.send(data)
            except OSError as exc:
                if self._collect(peer):
                    continue  # it reported earlier datagrams' ICMP errors (counted): again
                if exc.errno in TRANSIENT:
                    if retries < RETRIES:
                        retries += 1
                        self.stats.send_retries += 1
                        if exc.errno == errno.EAGAIN:
                            select.select([], [peer.sock], [], RETRY_WAIT_S)
                        else:
                            time.sleep(RETRY_WAIT_S)
                        continue
                elif unexplained is None:
                    unexplained = exc.errno  # an ICMP the kernel could not queue, or local?
                    continue  # the retry tells: a local error fails again
                break
            if unexplained is not None:  # it was an earlier datagram's unqueued ICMP
                self._refused(peer, 0)
            peer.datagrams_sent += 1
            peer.records_sent += records
            return True
        peer.lost += 1
        self.stats.send_errors += 1
        self.stats.send_lost += 1
        return False

    def _refused(self, peer: _Peer, records: int) -> None:
        peer.refused += 1
        peer.records_refused += records
        self.stats.send_errors += 1
        self.stats.send_lost += 1

    def _collect(self, peer: _Peer) -> int:
        """Count the ICMP errors queued on the peer's socket; returns how many."""
        found = 0
        while True:
            try:  # the start of the quoted datagram: enough for its record count
                quote, ancillary, _, _ = peer.sock.recvmsg(QUOTE, 512, socket.MSG_ERRQUEUE)
            except OSError:  # EAGAIN: the queue is empty
                return found
            for level, kind, err in ancillary:
                if level == socket.IPPROTO_IP and kind == IP_RECVERR and len(err) >= 5 \
                        and err[4] == SO_EE_ORIGIN_ICMP:
                    self._refused(peer, facts(quote).records)
                    found += 1

    def collect(self) -> int:
        """Count the ICMP errors that came back since the last send (on POLLERR)."""
        found = 0
        for peer in self.peers:
            got = self._collect(peer)
            # reading SO_ERROR clears a pending error, so POLLERR does not stay up;
            # one that no queued ICMP explains is an ICMP the kernel could not queue
            if peer.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                late = self._collect(peer)
                if not (got or late):
                    self._refused(peer, 0)
                    late = 1
                got += late
            found += got
        return found

    def settle(self, linger_s: float = LINGER_S) -> None:
        """Wait for the ICMP errors of the last datagrams (up to linger_s after
        the last send) and count them."""
        if not self.peers:
            return
        poller = select.poll()
        for fd in self.fileno():
            poller.register(fd, 0)  # POLLERR is always reported
        while (left := self._last_send + linger_s - time.monotonic()) > 0:
            if poller.poll(left * 1000):
                self.collect()
        self.collect()

    def report(self) -> dict[str, dict]:
        """Per collector: what left, what was refused, what never left."""
        return {p.name: p.report() for p in self.peers}

    def close(self) -> None:
        try:
            if self.peers:
                self.settle()
        finally:
            for peer in self.peers:
                peer.sock.close()
