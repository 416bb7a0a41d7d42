"""UDP export errors: counted, retried when the datagram would be lost, never fatal."""
from __future__ import annotations

import errno
import socket
import struct

from probe.constants import Expiry
from probe.export import Record
from probe.sender import Sender, _Peer
from probe.stats import Stats
from probe.v9 import V9Encoder

from .nslab import inside


def _listener(port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    s.settimeout(1.0)
    return s


def v5(count: int, tag: bytes = b"") -> bytes:
    """A datagram as the sender sees it: the header's count is what it counts."""
    return struct.pack("!HH", 5, count) + bytes(20 + 48 * count) + tag


def v9(count: int, template: bool) -> bytes:
    """A v9 datagram of `count` records, with the template set or without (our encoder's)."""
    enc = V9Encoder(source_id=0, template_ms=10**9, template_packets=10**6)
    rec = Record(1, 2, 0, 1, 2, 3, 300, 0, 5, 6, 7, 0, 17, 0, 0, 0, Expiry.INACTIVE)
    if not template:  # the first datagram carries it, the next one does not
        enc.open(0)
        enc.pack([rec], 0, 0)
    enc.open(0)
    return enc.pack([rec] * count, 0, 0)


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


def _closed_port() -> int:
    s = _listener()
    port = s.getsockname()[1]
    s.close()  # the collector is down: each datagram draws an ICMP port unreachable
    return port


def test_collector_restart_the_refused_datagram_is_lost_the_next_resent():
    port = _closed_port()
    stats = Stats()
    sender = Sender([("127.0.0.1", port)], stats)
    try:
        sender.send(v5(3))  # goes out; an ICMP port unreachable comes back
        back = _listener(port)  # the collector returns
        assert sender.send(v5(2, b"after")) == 1  # this send reports the old ICMP...
        assert back.recv(200) == v5(2, b"after")  # ...and the retry delivers it
        assert (stats.send_errors, stats.send_lost, sender.lost) == (1, 1, 1)
        assert sender.send(v5(1)) == 1 and back.recv(200) == v5(1)
        assert (stats.send_errors, stats.send_lost) == (1, 1)
        assert stats.datagrams_sent == 3  # all three left; one was refused
        assert sender.report() == {f"127.0.0.1:{port}": {
            "datagrams_sent": 3, "records_sent": 6, "refused": 1, "records_refused": 3, "lost": 0}}
        back.close()
    finally:
        sender.close()


def test_every_refused_datagram_is_an_error_and_a_loss_exactly():
    port = _closed_port()
    stats = Stats()
    sender = Sender([("127.0.0.1", port)], stats)
    try:
        for i in range(200):  # a burst: ICMP errors pile up between sends
            sender.send(v5(1 + i % 30))
    finally:
        sender.close()  # waits for the last datagrams' errors
    assert (stats.send_errors, stats.send_lost) == (200, 200)
    [peer] = sender.report().values()
    assert peer["refused"] == 200 and peer["records_refused"] == sum(1 + i % 30 for i in range(200))


def test_v9_counts_flow_records_and_templates_apart():
    a = _listener()
    stats = Stats()
    sender = Sender([a.getsockname()], stats)
    try:
        sender.send(v9(5, template=True)), sender.send(v9(3, template=False))
        assert (stats.datagrams_sent, stats.records_sent, stats.templates_sent) == (2, 8, 1)
        assert sender.report()["%s:%d" % a.getsockname()]["records_sent"] == 8
    finally:
        sender.close(), a.close()


def test_a_refused_v9_datagram_counts_its_flow_records():
    port = _closed_port()
    stats = Stats()
    sender = Sender([("127.0.0.1", port)], stats)
    try:
        sender.send(v9(5, template=True)), sender.send(v9(26, template=False))
    finally:
        sender.close()  # waits for the errors
    [peer] = sender.report().values()
    assert (peer["refused"], peer["records_refused"]) == (2, 31)


def test_a_dead_second_collector_is_counted_apart():
    live, dead = _listener(), _closed_port()
    live_name = "%s:%d" % live.getsockname()
    stats = Stats()
    sender = Sender([live.getsockname(), ("127.0.0.1", dead)], stats)
    try:
        for _ in range(5):
            assert sender.send(v5(2)) >= 1
        assert [live.recv(200) for _ in range(5)] == [v5(2)] * 5
    finally:
        sender.close(), live.close()
    report = sender.report()
    assert report[f"127.0.0.1:{dead}"]["refused"] == 5 == stats.send_lost
    assert report[live_name]["refused"] == 0
    assert (stats.datagrams_sent, stats.records_sent) == (5, 10)


def test_no_route_is_counted_not_raised(lab):
    ns = lab.ns("s")  # only lo: 10.255.0.1 has no route here
    stats = Stats()
    with inside(ns):
        sender = Sender([("10.255.0.1", 2055)], stats)
    try:
        assert sender.send(v5(1)) == 0 and sender.send(v5(1)) == 0
        assert (stats.send_errors, stats.send_lost, sender.lost) == (2, 2, 2)
        assert sender.report()["10.255.0.1:2055"]["lost"] == 2
    finally:
        sender.close()


class _Flaky(_Peer):
    """A peer whose send fails with the given errnos first."""

    def __init__(self, errnos):
        super().__init__("127.0.0.1", 9)
        self.errnos, self.sent = list(errnos), []

    def send(self, data):
        if self.errnos:
            raise OSError(self.errnos.pop(0), "flaky")
        self.sent.append(data)


def test_transient_errors_are_retried_not_dropped():
    stats = Stats()
    sender = Sender([], stats)
    peer = _Flaky([errno.ENOBUFS, errno.EAGAIN, errno.ENOBUFS])
    sender.peers = [peer]
    try:
        assert sender.send(v5(1)) == 1 and peer.sent == [v5(1)]
        assert (stats.send_retries, stats.send_errors, sender.lost) == (3, 0, 0)
        peer.errnos = [errno.ENOBUFS] * 50  # a queue that never drains: given up, counted
        assert sender.send(v5(1)) == 0
        assert (stats.send_errors, stats.send_lost, sender.lost) == (1, 1, 1)
    finally:
        sender.close()
