"""A timing verdict says when the traffic was sent too late for it to be
trusted (testbed/expect/lag.py), on a check judged without a lab."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from contexts import context
from testbed.expect.lag import lag_of, unreliable
from testbed.topology import read_checks, read_lab
from testbed.traffic.plan import FlowId, FlowTruth

LAB = Path(__file__).resolve().parents[2] / "topologies" / "field-replay.yaml"
FLOW = FlowId("10.0.1.10", "10.0.2.20", 56312, 5201, 17, 0)


def test_margin_to_the_nearest_edge():
    assert unreliable(2.7, (2.0, 3.5), 0.5) == ""
    assert "up to 800 ms behind its timing, more than the 700 ms to the window's edge" in unreliable(
        2.7, (2.0, 3.5), 0.8)
    assert unreliable(4.0, (2.0, 3.5), 0.4) == ""  # a failure by more than the lag stays a plain failure
    assert unreliable(3.6, (2.0, 3.5), 0.4) != ""
    assert lag_of([FlowTruth(FLOW, "h1", lag=0.2), FlowTruth(FLOW, "h1")]) == 0.2 and lag_of([]) == 0.0


def judge(lag: float, recv_s: float):
    topo, known = read_lab(LAB.read_text(), str(LAB), LAB.parent)
    (check,) = read_checks(known, [{"name": "t", "kind": "exported_within", "window": [2, 3.5],
                                    "match": {"proto": "udp", "dport": 5201}}], "test")
    truth = FlowTruth(FLOW, "h1", packets=41, octets=13152, first=99.0, last=100.0, lag=lag)
    rec = SimpleNamespace(src=FLOW.src, dst=FLOW.dst, sport=FLOW.sport, dport=FLOW.dport, proto=17, tos=0,
                          packets=41, recv_ms=round(recv_s * 1000))
    return check.evaluate(SimpleNamespace(find=lambda: [rec]), context(truth={FLOW: truth}))


def test_a_timing_check_on_late_traffic_is_flagged():
    ok = judge(lag=0.004, recv_s=102.1)
    assert ok.passed and ok.observed == "exported 2.10 s after its last packet"
    late = judge(lag=0.3, recv_s=102.1)
    assert late.passed and late.observed.startswith("exported 2.10 s after its last packet (unreliable: ")
