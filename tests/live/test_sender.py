"""UDP export errors: counted, retried when the datagram would be lost, never fatal."""
from __future__ import annotations

import errno
import socket
import struct

from probe.sender import Sender
from probe.stats import Stats

from .nslab import inside


def _listener(port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    s.settimeout(1.0)
    return s


def v5(count: int, tag: bytes = b"") -> bytes:
    """A datagram as the sender sees it: the header's count is what it counts."""
    return struct.pack("!HH", 5, count) + bytes(20 + 48 * count) + tag


def test_each_datagram_goes_to_each_collector():
    a, b = _listener(), _listener()
    stats = Stats()
    sender = Sender([a.getsockname(), b.getsockname()], stats)
    try:
        assert sender.send(v5(2)) == 2
        assert a.recv(200) == b.recv(200) == v5(2)
        assert (stats.send_errors, stats.send_retries, sender.lost) == (0, 0, 0)
    finally:
        sender.close(), a.close(), b.close()


def test_what_left_is_counted_when_it_leaves_once_per_datagram(lab):
    a = _listener()
    stats = Stats()
    sender = Sender([a.getsockname(), a.getsockname()], stats)
    try:
        sender.send(v5(30)), sender.send(v5(4))
        assert (stats.datagrams_sent, stats.records_sent) == (2, 34)  # not once per collector
    finally:
        sender.close(), a.close()
    with inside(lab.ns("s")):  # no route: nothing leaves, nothing counted as sent
        sender = Sender([("10.255.0.1", 2055)], stats)
    try:
        assert sender.send(v5(30)) == 0
        assert (stats.datagrams_sent, stats.records_sent) == (2, 34)
    finally:
        sender.close()


def test_collector_restart_pending_icmp_error_is_counted_and_the_datagram_resent():
    first = _listener()
    port = first.getsockname()[1]
    first.close()  # the collector is down
    stats = Stats()
    sender = Sender([("127.0.0.1", port)], stats)
    try:
        sender.send(b"lost-while-down")  # goes out; an ICMP port unreachable comes back
        back = _listener(port)  # the collector returns
        assert sender.send(b"after-restart") == 1  # this send reports the old ICMP...
        assert back.recv(100) == b"after-restart"  # ...and the retry delivers it
        assert (stats.send_errors, sender.lost) == (1, 0)
        assert sender.send(b"normal") == 1 and back.recv(100) == b"normal"
        assert stats.send_errors == 1
        back.close()
    finally:
        sender.close()


def test_collector_down_keeps_going_and_counts():
    stats = Stats()
    first = _listener()
    port = first.getsockname()[1]
    first.close()
    sender = Sender([("127.0.0.1", port)], stats)
    try:
        for i in range(10):
            sender.send(b"x%d" % i)
        assert stats.send_errors == 9  # every send after the first reports an ICMP
    finally:
        sender.close()


def test_no_route_is_counted_not_raised(lab):
    ns = lab.ns("s")  # only lo: 10.255.0.1 has no route here
    stats = Stats()
    with inside(ns):
        sender = Sender([("10.255.0.1", 2055)], stats)
    try:
        assert sender.send(b"a") == 0 and sender.send(b"b") == 0
        assert (stats.send_errors, sender.lost) == (2, 2)
    finally:
        sender.close()


class _Flaky:
    """A socket whose send fails with the given errnos first."""

    def __init__(self, errnos):
        self.errnos, self.sent = list(errnos), []

    def send(self, data):
        if self.errnos:
            raise OSError(self.errnos.pop(0), "flaky")
        self.sent.append(data)


def test_transient_errors_are_retried_not_dropped():
    stats = Stats()
    sender = Sender([], stats)
    peer = _Flaky([errno.ENOBUFS, errno.EAGAIN, errno.ENOBUFS])
    peer.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.peers = [peer]
    try:
        assert sender.send(b"d") == 1 and peer.sent == [b"d"]
        assert (stats.send_retries, stats.send_errors, sender.lost) == (3, 0, 0)
        peer.errnos = [errno.ENOBUFS] * 50  # a queue that never drains: given up, counted
        assert sender.send(b"e") == 0
        assert (stats.send_errors, sender.lost) == (1, 1)
    finally:
        sender.close()
