"""When a replay sends each packet and the ground truth it knows beforehand
(testbed/traffic/capture_truth.py)."""
from __future__ import annotations

import math
import tracemalloc

import pytest

from testbed.traffic.capture_truth import Truth, schedule
from testbed.traffic.fit import Fitted
from testbed.traffic.ipv4 import FlowId, Key

S = 1_000_000_000


def test_recorded_timing_speed_pps_and_loop():
    ts = [5 * S, 5 * S + S // 2, 7 * S]
    assert schedule(ts) == [0.0, 0.5, 2.0]
    assert schedule(ts, speed=4) == [0.0, 0.125, 0.5]
    assert schedule(ts, pps=10) == pytest.approx([0.0, 0.1, 0.2])
    # the next round begins one average gap (1 s) after the last packet
    assert schedule(ts, loop=2) == [0.0, 0.5, 2.0, 3.0, 3.5, 5.0]
    assert schedule(ts, pps=10, loop=2) == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert schedule([]) == [] and schedule([9 * S], loop=3) == [0.0, 0.0, 0.0]


def test_a_packet_never_goes_before_the_one_ahead_of_it():
    assert schedule([2 * S, 1 * S, 3 * S]) == [0.0, 0.0, 1.0]


def packet(sport: int, octets: int, flags: int = 0, way: int = 0, ts: int = 0) -> Fitted:
    return Fitted(ts, way, b"", Key(FlowId("10.0.1.10", "10.0.2.20", sport, 80, 6, 0), octets, flags))


def test_truth_per_flow_with_loops_times_and_lag():
    truth = Truth(["h1:eth0", "h2:eth0"], step=3, loop=2, pps=10)
    offsets = [truth.add(p) for p in (packet(1, 40, 0x02), packet(2, 60, way=1), packet(1, 52, 0x10))]
    assert offsets == pytest.approx([0.0, 0.1, 0.2]) and truth.sends == 6
    one, two = truth.flows.values()
    assert (one.packets, one.octets, one.flags, one.node, one.step) == (4, 184, 0x12, "h1", 3)
    assert (two.packets, two.octets, two.node) == (2, 120, "h2")
    assert list(truth.offsets()) == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    sent = [100.0, 100.1, 100.25, 100.3, 100.4, 100.5]  # the third went 50 ms late
    assert truth.sent(100.0, iter(sent)) == pytest.approx(0.05)
    assert (one.first, one.last, one.lag) == (100.0, 100.5, pytest.approx(0.05))
    assert (two.first, two.last, two.lag) == (100.1, 100.4, pytest.approx(0.0))
    assert list(one.times) == [100.0, 100.25, 100.3, 100.5]


def test_a_packet_that_was_not_sent_leaves_the_truth():
    truth = Truth(["h1:eth0"], step=0, pps=10)
    truth.add(packet(1, 40))
    truth.add(packet(2, 60))
    truth.sent(0.0, [0.0, math.nan])
    assert [(t.flow.sport, t.packets) for t in truth.flows.values()] == [(1, 1)]


def test_the_truth_keeps_16_bytes_a_packet_whatever_the_loop():
    """What a round of 300,000 packets costs, looped 10,000 times (3e9 sends; at the
    limit check a list of every send offset was 24 GB)."""
    truth = Truth(["h1:eth0"], step=0, loop=10_000)
    tracemalloc.start()
    try:
        for i in range(300_000):
            truth.add(packet(i % 3000, 100, ts=i * 10_000))
        used = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert truth.sends == 3_000_000_000
    assert truth.duration == pytest.approx(10_000 * 3.0 - 1e-5, rel=1e-6)
    assert used < 300_000 * 16 + 3000 * 1000, used  # the arrays, plus the flows
