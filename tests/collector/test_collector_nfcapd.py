"""Agreement with nfdump's nfcapd: one datagram stream over loopback to both.

The stream is built here (struct), with gaps, a duplicate, reordering and a
reset injected. nfcapd counts a "sequence failure" whenever a datagram does
not follow the one received before it; our collector reports the same count
(nfcapd_failures) next to its finer accounting, and the same record count.
"""
from __future__ import annotations

import random
import shutil
import socket
import time
from itertools import zip_longest

import pytest

from nfv5_build import datagram
from testbed.collector import start_collector
from testbed.collector.nfcapd import Nfcapd

pytestmark = pytest.mark.skipif(not (shutil.which("nfcapd") and shutil.which("nfdump")),
                                reason="needs nfcapd and nfdump (Debian package nfdump)")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nfcapd(tmp_path) -> Nfcapd:
    """nfcapd on 127.0.0.1, writing into its own directory; the free port may be taken
    between probing and binding, so try three."""
    for attempt in range(3):
        try:
            return Nfcapd("127.0.0.1", free_udp_port(), tmp_path / f"flows{attempt}").start()
        except RuntimeError:
            if attempt == 2:
                raise


def stream(engine_id: int, n: int, rnd: random.Random, start_seq: int = 0, uptime: int = 10_000):
    """(seq, count, uptime) of n datagrams an exporter sends, in order."""
    out, seq = [], start_seq
    for _ in range(n):
        count = rnd.randint(1, 30)
        out.append((engine_id, seq % 2**32, count, uptime))
        seq, uptime = seq + count, uptime + rnd.randint(1, 20)
    return out


def test_sequence_failures_and_records_agree_with_nfdump(tmp_path):
    rnd = random.Random(5)
    # engine 1: gaps only (datagrams dropped), crossing the 2^32 sequence wrap
    sent1 = stream(1, 60, rnd, start_seq=2**32 - 500)
    gaps_only = [d for i, d in enumerate(sent1) if i not in (5, 17, 18, 40, 41, 42)]
    dropped = sum(d[2] for i, d in enumerate(sent1) if i in (5, 17, 18, 40, 41, 42))
    # engine 2: a gap, a duplicate, a reordered pair, then a restarted exporter
    s2 = stream(2, 20, rnd)
    messy = s2[:3] + s2[4:8] + [s2[7]] + [s2[9], s2[8]] + s2[10:] + stream(2, 10, rnd, 0, 500)
    mixed = [d for pair in zip_longest(gaps_only, messy) for d in pair if d]  # interleaved

    nfcapd = start_nfcapd(tmp_path)
    try:
        with start_collector("127.0.0.1:0", tmp_path / "collector.jsonl", args=["--quiet"]) as ours, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            now = time.time_ns() // 1_000_000
            for i, (eid, seq, count, uptime) in enumerate(mixed):
                data = datagram(count, seq=seq, uptime=uptime, engine_id=eid, unix_ms=now)
                tx.sendto(data, ("127.0.0.1", nfcapd.port))
                tx.sendto(data, ours.listen)
                if i % 10 == 9:
                    time.sleep(0.002)  # pace: nfcapd's socket buffer is small
            time.sleep(0.2)
    finally:
        nfcapd.stop()
    result = ours.result
    theirs = {e.engine_id: (e.sequence_failures, e.flows) for e in nfcapd.result.exporters}
    r1, r2 = result.exporter_report("127.0.0.1", 0, 1), result.exporter_report("127.0.0.1", 0, 2)

    assert theirs[1] == (r1.nfcapd_failures, r1.records) == (3, sum(d[2] for d in gaps_only))
    assert r1.gaps == 3 and r1.records_lost == dropped  # nfcapd cannot count the records lost
    assert theirs[2] == (r2.nfcapd_failures, r2.records)
    assert (r2.gaps, r2.duplicates, r2.reordered, r2.resets) == (2, 1, 1, 1)
    assert r2.records_lost == s2[3][2]  # the reordered pair lost nothing
    totals = nfcapd.result.totals
    assert (totals.sequence_failures, totals.flows) == (r1.nfcapd_failures + r2.nfcapd_failures,
                                                        result.summary.records)
    assert result.live["socket_drops"] == 0
