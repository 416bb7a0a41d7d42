"""Offline export pacing: a first burst that a collector's default socket
buffer holds, then `rate` datagrams a second; idling earns one burst at most.
The pacer on a fake clock; the burst's size against a real socket's buffer."""
from __future__ import annotations

import socket

import pytest

from probe.constants import DATAGRAM_TRUESIZE, PACE_BURST, RMEM_DEFAULT
from probe.pacing import Pacer


def departures(pacer: Pacer, n: int, start: float) -> list[float]:
    """When each of `n` datagrams leaves, sent as soon as the pacer lets them."""
    now, out = start, []
    for _ in range(n):
        now += pacer.delay(now)
        out.append(now)
    return out


@pytest.mark.parametrize("rate", [5000, 20000])
def test_a_short_run_is_not_paced(rate):
    assert departures(Pacer(rate, PACE_BURST, 0.0), PACE_BURST, 3.0) == [3.0] * PACE_BURST


@pytest.mark.parametrize("rate", [5000, 20000])
def test_after_the_burst_one_datagram_per_interval(rate):
    t = departures(Pacer(rate, PACE_BURST, 0.0), PACE_BURST + 1000, 0.0)
    assert t[PACE_BURST - 1] == 0.0
    gaps = [b - a for a, b in zip(t[PACE_BURST - 1:], t[PACE_BURST:])]
    assert all(g == pytest.approx(1 / rate) for g in gaps)
    assert t[-1] == pytest.approx(1000 / rate)


def test_idling_earns_one_burst_at_most():
    pacer = Pacer(5000, PACE_BURST, 0.0)
    departures(pacer, 500, 0.0)  # the buffer is full: paced
    later = departures(pacer, 3 * PACE_BURST, 100.0)  # a long quiet spell, then a flush
    assert later.count(100.0) == PACE_BURST
    half = departures(pacer, PACE_BURST, later[-1] + PACE_BURST / 2 / 5000)  # half drained
    assert half.count(half[0]) == PACE_BURST // 2


def test_a_slow_reader_is_never_held_up():
    """Reading slower than the rate: every datagram leaves at once."""
    pacer = Pacer(5000, 4, 0.0)
    assert all(pacer.delay(k / 1000) == 0 for k in range(1, 1000))


def test_no_limit_and_bad_values():
    assert departures(Pacer(0, 1, 0.0), 10_000, 5.0) == [5.0] * 10_000
    for rate, burst in ((-1, 5), (5, 0)):
        with pytest.raises(ValueError):
            Pacer(rate, burst, 0.0)


def test_a_default_socket_buffer_holds_the_burst_with_room():
    """A real UDP socket with Linux's default buffer (set explicitly: the kernel
    doubles the value given), filled by full v5 datagrams (1464 B) that nobody
    reads: what fits is what DATAGRAM_TRUESIZE says, and the burst is 2/3 of it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RMEM_DEFAULT // 2)
        assert rx.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == RMEM_DEFAULT
        rx.bind(("127.0.0.1", 0))
        rx.setblocking(False)
        for _ in range(300):
            tx.sendto(bytes(1464), rx.getsockname())
        held = 0
        try:
            while rx.recv(2048):
                held += 1
        except BlockingIOError:
            pass
    assert abs(held - RMEM_DEFAULT // DATAGRAM_TRUESIZE) <= 1
    assert PACE_BURST <= held * 2 // 3


def test_a_sleep_that_overshoots_is_credited():
    """time.sleep(200 us) wakes later (here 100 us): the average still holds
    `rate` (main's pacer lost the overshoot: 1M packets paced took 1.33 s, now 0.87 s)."""
    pacer, now = Pacer(5000, PACE_BURST, 0.0), 0.0
    for _ in range(PACE_BURST + 5000):
        wait = pacer.delay(now)
        now += wait + (0.0001 if wait else 0.0)
    assert now == pytest.approx(1.0, abs=0.001)
