"""fprobe 1.1's behaviour, live in the router namespace.

* Its capture thread hands packets to a 100-entry pending queue; the thread
  that empties it misses wake-ups and sleeps up to 5 s, so a burst beyond
  the queue is dropped (no counter says so). `pending_queue:` (-q) makes the queue longer.
* sys_uptime restarts at every datagram (UPTIME_TRICK).
* A flow keeps its first packet's TOS (TOS is not in its key).
"""
from __future__ import annotations

import shutil
import time

import pytest

from exporters import drive
from exporters.routedlab import udp

from testbed.exporters import fprobe

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(not shutil.which("fprobe"), reason="needs fprobe (ci/setup installs it)")]
UPTIME_TRICK_MS = (1 << 20) * 1000


def burst(rl, tmp_path, options: fprobe.Options | None = None):
    port = drive.next_port()
    spec = drive.spec_for(rl, tmp_path, port, options=options)
    with drive.Session(rl, fprobe.launch(spec), tmp_path, port) as session:
        rl.play(drive.tos_pair(40200)
                + drive.shifted(udp("h1", "h2", packets=3000, interval=0, sport=40201), 0.3),
                tmp_path, "t")
        time.sleep(1)
        return session.stop()


def test_a_burst_beyond_the_pending_queue_is_dropped(rl, tmp_path):
    result = burst(rl, tmp_path)
    assert result.total(sport=40201).packets < 3000 / 2  # measured: 294 to 688 of 3000
    (pair,) = result.find(sport=40200)
    assert (pair.tos, pair.packets) == (0x20, 6)  # sent before the burst: all there, first TOS
    for header in {r.header for r in result.find()}:  # uptime restarts per datagram
        assert UPTIME_TRICK_MS <= header.sys_uptime < UPTIME_TRICK_MS + 15_000


def test_a_longer_pending_queue_keeps_the_burst(rl, tmp_path):
    result = burst(rl, tmp_path, fprobe.Options(pending_queue=100000))
    assert result.total(sport=40201).packets == 3000
