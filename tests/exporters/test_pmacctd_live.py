"""pmacctd 1.7.7 (nfprobe plugin), live in the router namespace: the behaviour its claims
leave open. A 5-tuple with two TOS values is one record carrying the last packet's TOS;
a burst is counted whole."""
from __future__ import annotations

import shutil
import time

import pytest

from exporters import drive
from exporters.routedlab import udp

from testbed.exporters import pmacctd

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(not shutil.which("pmacctd"), reason="needs pmacctd (ci/setup installs pmacct)")]


def test_one_record_per_5_tuple_with_the_last_tos_and_bursts_counted_whole(rl, tmp_path):
    port = drive.next_port()
    spec = drive.spec_for(rl, tmp_path, port)
    with drive.Session(rl, pmacctd.launch(spec), tmp_path, port) as session:
        rl.play(drive.tos_pair(40300)
                + drive.shifted(udp("h1", "h2", packets=3000, interval=0, sport=40301), 0.3),
                tmp_path, "t")
        time.sleep(1)
        result = session.stop()
    (pair,) = result.find(sport=40300)
    assert (pair.tos, pair.packets) == (0x08, 6)
    assert result.total(sport=40301).packets == 3000
    assert session.ex.stopped.clean
