"""Live against offline records (testbed/replay/compare.py): what agrees, and
each kind of difference named with both sides."""
from __future__ import annotations

from dataclasses import replace

from testbed.replay.compare import Rec, compare, from_offline

KEY = ("10.0.1.10", "10.0.2.20", 1234, 80, 6, 0, 2)
R = Rec(KEY, 10, 1000, 3, "0.0.0.0", 24, 24, 0x1B, 5000, 5900)


def test_the_same_records_agree_within_the_tolerance():
    a = compare([R, replace(R, key=KEY[:6] + (3,))], [replace(R, start_ms=5004),
                                                     replace(R, key=KEY[:6] + (3,), end_ms=5897)], 10)
    assert a.agree and (a.keys, a.live, a.offline, a.worst_ms) == (2, 2, 2, 4)
    assert a.lines()[0] == "2 flow keys: 2 records live, 2 offline; times within 4 ms (tolerance 10 ms)"


def test_each_difference_is_named():
    a = compare([R, replace(R, key=KEY[:2] + (9,) + KEY[3:])],
                [replace(R, output=0, dst_mask=0, start_ms=5100)], 20)
    assert not a.agree
    assert a.differences == [
        "tcp 10.0.1.10:1234 -> 10.0.2.20:80 tos 0 in 2: output 3 live, 0 offline",
        "tcp 10.0.1.10:1234 -> 10.0.2.20:80 tos 0 in 2: dst_mask 24 live, 0 offline",
        "tcp 10.0.1.10:1234 -> 10.0.2.20:80 tos 0 in 2: times differ by 100 ms (live 5000..5900, "
        "offline 5100..5900)",
        "tcp 10.0.1.10:9 -> 10.0.2.20:80 tos 0 in 2: 1 records live, 0 offline (packets 10 live, 0 offline)"]


def test_records_split_differently():
    a = compare([replace(R, packets=4), replace(R, packets=6, start_ms=5500)], [R], 10)
    assert a.differences == ["tcp 10.0.1.10:1234 -> 10.0.2.20:80 tos 0 in 2: 2 records live, 1 offline "
                             "(packets 4+6 live, 10 offline)"]


def test_reasons_with_the_end_of_traffic_as_one_group():
    same = compare([], [], 0, {"inactive": 3, "tcp_fin_rst": 2}, {"shutdown": 3, "tcp_fin_rst": 2})
    assert same.agree
    diff = compare([], [], 0, {"active": 1, "inactive": 1}, {"inactive": 2})
    assert diff.differences == ["flows expired by active: 1 live, 0 offline",
                                "flows expired by time, at the end: 1 live, 2 offline"]


def test_offline_json_lines_get_absolute_times():
    d = {"src": "10.0.1.10", "dst": "10.0.2.20", "sport": 1234, "dport": 80, "proto": 6, "tos": 0, "input": 2,
         "packets": 10, "octets": 1000, "output": 3, "next_hop": "0.0.0.0", "src_mask": 24, "dst_mask": 24,
         "tcp_flags": 0x1B, "first": 0, "last": 900, "reason": "tcp_fin_rst"}
    assert from_offline(d, 5000) == R
