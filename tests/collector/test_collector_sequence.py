"""Sequence accounting, table-driven: each stream's statuses and counters, exactly."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nfv5_build import UNIX_MS, datagram
from testbed.collector import Collector

W = 2**32
A, B = "10.0.9.1", "10.0.9.2"


def dg(seq, count, uptime, exporter=A, engine_id=0, engine_type=0, unix_ms=UNIX_MS):
    return exporter, datagram(count, seq=seq, uptime=uptime, engine_id=engine_id, engine_type=engine_type,
                              unix_ms=unix_ms)


def run(stream):
    c = Collector()
    statuses = []
    for exporter, data in stream:
        got = c.receive(data, exporter, 0)
        assert got.malformed is None
        d = got.datagram
        statuses.append((d.seq_status, d.missing or d.filled or d.reason or None))
    return statuses, {(r.exporter, r.engine_type, r.engine_id): r for r in c.summary().sequence}


def counters(r):
    return dict(datagrams=r.datagrams, records=r.records, lost=r.records_lost, gaps=r.gaps,
                duplicates=r.duplicates, reordered=r.reordered, resets=r.resets, nfcapd=r.nfcapd_failures)


CASES = {
    "in order": (
        [dg(0, 30, 1000), dg(30, 30, 2000), dg(60, 10, 3000)],
        [("first", None), ("in-order", None), ("in-order", None)],
        dict(datagrams=3, records=70, lost=0, gaps=0, duplicates=0, reordered=0, resets=0, nfcapd=0)),
    "starts anywhere (collector started after the probe)": (
        [dg(12345, 5, 1000), dg(12350, 5, 2000)],
        [("first", None), ("in-order", None)],
        dict(datagrams=2, records=10, lost=0, gaps=0, duplicates=0, reordered=0, resets=0, nfcapd=0)),
    "gap of 7 records": (
        [dg(0, 30, 1000), dg(37, 30, 2000), dg(67, 1, 3000)],
        [("first", None), ("gap", 7), ("in-order", None)],
        dict(datagrams=3, records=61, lost=7, gaps=1, duplicates=0, reordered=0, resets=0, nfcapd=1)),
    "duplicate": (
        [dg(0, 30, 1000), dg(30, 30, 2000), dg(30, 30, 2000), dg(60, 30, 3000)],
        [("first", None), ("in-order", None), ("duplicate", None), ("in-order", None)],
        dict(datagrams=4, records=120, lost=0, gaps=0, duplicates=1, reordered=0, resets=0, nfcapd=1)),
    "duplicate of the first datagram": (
        [dg(0, 30, 1000), dg(0, 30, 1000)],
        [("first", None), ("duplicate", None)],
        dict(datagrams=2, records=60, lost=0, gaps=0, duplicates=1, reordered=0, resets=0, nfcapd=1)),
    "reordered pair": (
        [dg(0, 30, 1000), dg(60, 30, 3000), dg(30, 30, 2000), dg(90, 30, 4000)],
        [("first", None), ("gap", 30), ("reordered", 30), ("in-order", None)],
        dict(datagrams=4, records=120, lost=0, gaps=1, duplicates=0, reordered=1, resets=0, nfcapd=3)),
    "late datagram fills part of a gap": (
        [dg(0, 10, 1000), dg(40, 10, 4000), dg(20, 10, 2000), dg(50, 10, 5000)],
        [("first", None), ("gap", 30), ("reordered", 10), ("in-order", None)],
        dict(datagrams=4, records=40, lost=20, gaps=1, duplicates=0, reordered=1, resets=0, nfcapd=3)),
    "reset: uptime went back (probe restarted)": (
        [dg(0, 30, 50_000), dg(30, 30, 51_000), dg(0, 30, 500), dg(30, 30, 1500)],
        [("first", None), ("in-order", None), ("reset", "sys_uptime went back from 51000 to 500"),
         ("in-order", None)],
        dict(datagrams=4, records=120, lost=0, gaps=0, duplicates=0, reordered=0, resets=1, nfcapd=1)),
    "reset: sequence restarted at 0, uptime kept going": (
        [dg(0, 30, 1000), dg(30, 30, 2000), dg(0, 30, 3000), dg(30, 30, 4000)],
        [("first", None), ("in-order", None), ("reset", "sequence restarted at 0"), ("in-order", None)],
        dict(datagrams=4, records=120, lost=0, gaps=0, duplicates=0, reordered=0, resets=1, nfcapd=1)),
    "reset: restart at 0 far from a wrap": (
        [dg(3_000_000_000, 30, 1000), dg(0, 30, 2000)],
        [("first", None), ("reset", "sequence restarted at 0")],
        dict(datagrams=2, records=60, lost=0, gaps=0, duplicates=0, reordered=0, resets=1, nfcapd=1)),
    "reset: sequence went back": (
        [dg(100, 30, 1000), dg(130, 30, 2000), dg(50, 30, 3000)],
        [("first", None), ("in-order", None), ("reset", "sequence went back 110 records")],
        dict(datagrams=3, records=90, lost=0, gaps=0, duplicates=0, reordered=0, resets=1, nfcapd=1)),
    "a gap stays lost across a reset": (
        [dg(0, 30, 1000), dg(40, 30, 2000), dg(0, 30, 100)],
        [("first", None), ("gap", 10), ("reset", "sys_uptime went back from 2000 to 100")],
        dict(datagrams=3, records=90, lost=10, gaps=1, duplicates=0, reordered=0, resets=1, nfcapd=2)),
    "too early for the gap it lands in: a reset, not a late datagram": (
        [dg(0, 30, 1000), dg(60, 30, 3000), dg(30, 30, 500)],
        [("first", None), ("gap", 30), ("reset", "sys_uptime went back from 3000 to 500")],
        dict(datagrams=3, records=90, lost=30, gaps=1, duplicates=0, reordered=0, resets=1, nfcapd=2)),
    "2^32 wrap of the sequence": (
        [dg(W - 30, 30, 1000), dg(0, 30, 2000), dg(30, 30, 3000)],
        [("first", None), ("in-order", None), ("in-order", None)],
        dict(datagrams=3, records=90, lost=0, gaps=0, duplicates=0, reordered=0, resets=0, nfcapd=0)),
    "gap across the wrap": (
        [dg(W - 30, 30, 1000), dg(5, 30, 2000)],
        [("first", None), ("gap", 5)],
        dict(datagrams=2, records=60, lost=5, gaps=1, duplicates=0, reordered=0, resets=0, nfcapd=1)),
    "gap landing exactly on 0 across the wrap": (
        [dg(W - 40, 30, 1000), dg(0, 30, 2000)],
        [("first", None), ("gap", 10)],
        dict(datagrams=2, records=60, lost=10, gaps=1, duplicates=0, reordered=0, resets=0, nfcapd=1)),
    "reordered across the wrap": (
        [dg(W - 60, 30, 1000), dg(0, 30, 3000), dg(W - 30, 30, 2000)],
        [("first", None), ("gap", 30), ("reordered", 30)],
        dict(datagrams=3, records=90, lost=0, gaps=1, duplicates=0, reordered=1, resets=0, nfcapd=2)),
    "the first datagram overtaken: reordered when it arrives, not a reset": (
        [dg(30, 30, 2000), dg(0, 30, 1000), dg(60, 30, 3000)],
        [("first", None), ("reordered", None), ("in-order", None)],
        dict(datagrams=3, records=90, lost=0, gaps=0, duplicates=0, reordered=1, resets=0, nfcapd=2)),
    "the first datagram overtaken, with records lost between the two": (
        [dg(40, 10, 2000), dg(0, 30, 1000), dg(50, 10, 3000)],
        [("first", None), ("reordered", 10), ("in-order", None)],
        dict(datagrams=3, records=50, lost=10, gaps=1, duplicates=0, reordered=1, resets=0, nfcapd=2)),
    "before the first one but later by the wall clock: a restart, not a late datagram": (
        [dg(1000, 30, 50_000), dg(0, 30, 100, unix_ms=UNIX_MS + 60_000)],
        [("first", None), ("reset", "sys_uptime went back from 50000 to 100")],
        dict(datagrams=2, records=60, lost=0, gaps=0, duplicates=0, reordered=0, resets=1, nfcapd=1)),
    # pmacctd stopped and started again by a flush: sequence 0, the same count and even the same
    # sys_uptime (each run flushed as long after its start), seconds later by the wall clock
    "a restart that repeats sequence, count and uptime at another time: a reset, not a duplicate": (
        [dg(0, 1, 3376), dg(0, 1, 3376, unix_ms=UNIX_MS + 3_792)],
        [("first", None), ("reset", "sequence restarted at 0")],
        dict(datagrams=2, records=2, lost=0, gaps=0, duplicates=0, reordered=0, resets=1, nfcapd=1)),
    "2^32 wrap of sys_uptime is not a reset": (
        [dg(0, 30, W - 500), dg(30, 30, 500)],
        [("first", None), ("in-order", None)],
        dict(datagrams=2, records=60, lost=0, gaps=0, duplicates=0, reordered=0, resets=0, nfcapd=0)),
}


@pytest.mark.parametrize("name", CASES)
def test_one_exporter(name):
    stream, want_statuses, want = CASES[name]
    statuses, reports = run(stream)
    assert statuses == want_statuses
    assert counters(reports[(A, 0, 0)]) == want


def test_an_overtaken_first_datagram_is_where_the_stream_starts():
    _, reports = run([dg(30, 30, 2000), dg(0, 30, 1000)])
    assert (reports[(A, 0, 0)].first_sequence, reports[(A, 0, 0)].next_sequence) == (0, 60)


def test_two_exporters_interleaved_are_accounted_apart():
    stream = [dg(0, 30, 1000, A), dg(500, 30, 7000, B), dg(30, 30, 2000, A), dg(535, 30, 8000, B),
              dg(60, 30, 3000, A), dg(565, 30, 9000, B), dg(30, 30, 2000, A)]
    statuses, reports = run(stream)
    assert statuses == [("first", None), ("first", None), ("in-order", None), ("gap", 5), ("in-order", None),
                        ("in-order", None), ("duplicate", None)]
    assert counters(reports[(A, 0, 0)]) == dict(datagrams=4, records=120, lost=0, gaps=0, duplicates=1,
                                                 reordered=0, resets=0, nfcapd=1)
    assert counters(reports[(B, 0, 0)]) == dict(datagrams=3, records=90, lost=5, gaps=1, duplicates=0,
                                                 reordered=0, resets=0, nfcapd=1)


def test_two_engines_of_one_address_are_two_exporters():
    stream = [dg(0, 30, 1000, engine_id=1), dg(0, 10, 1000, engine_id=2), dg(30, 30, 2000, engine_id=1),
              dg(20, 10, 2000, engine_id=2), dg(0, 5, 2000, engine_id=2, engine_type=1),
              dg(60, 30, 3000, engine_id=1), dg(30, 10, 3000, engine_id=2)]
    statuses, reports = run(stream)
    assert statuses == [("first", None), ("first", None), ("in-order", None), ("gap", 10), ("first", None),
                        ("in-order", None), ("in-order", None)]
    assert set(reports) == {(A, 0, 1), (A, 0, 2), (A, 1, 2)}
    assert (reports[(A, 0, 1)].records_lost, reports[(A, 0, 2)].records_lost) == (0, 10)
    assert reports[(A, 0, 2)].next_sequence == 40


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 30), min_size=2, max_size=40), st.randoms(use_true_random=False),
       st.floats(0, 0.3), st.floats(0, 0.2), st.integers(W - 500, W - 1))
def test_lost_records_are_exactly_the_dropped_ones(counts, rnd, p_drop, p_dup, start):
    """Any mix of loss, duplication and local reordering. The first and last datagrams
    arrive (loss at the tail is invisible to any collector until the next datagram)."""
    seq, uptime, sent = start, 1000, []
    for n in counts:
        sent.append((seq % W, n, uptime))
        seq, uptime = seq + n, uptime + rnd.randint(0, 50)
    arrive = [sent[0]]
    dropped = dups = 0
    for d in sent[1:]:
        if rnd.random() < p_drop and d is not sent[-1]:
            dropped += d[1]
            continue
        arrive.append(d)
        if rnd.random() < p_dup:
            arrive.append(d)
            dups += 1
    for i in range(1, len(arrive) - 1):  # adjacent swaps: a little reordering
        if rnd.random() < 0.2:
            arrive[i], arrive[i + 1] = arrive[i + 1], arrive[i]
    _, reports = run([dg(*d) for d in arrive])
    r = reports[(A, 0, 0)]
    assert (r.records_lost, r.duplicates, r.resets) == (dropped, dups, 0)


def test_shuffled_window_keeps_the_books():
    rnd = random.Random(7)
    sent = [(i * 30, 30, 1000 + i) for i in range(200)]
    arrive = sent[:1] + sorted(sent[1:], key=lambda d: d[0] + rnd.randint(0, 150))
    _, reports = run([dg(*d) for d in arrive])
    r = reports[(A, 0, 0)]
    assert (r.records_lost, r.resets, r.duplicates, r.open_gaps, r.next_sequence) == (0, 0, 0, 0, 6000)
