"""A moderate rate (20k packets/s for 5 s, tcpreplay in a host namespace): no ring drops, exact totals."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

RATE, LOOPS, FLOWS = 20_000, 100, 1000  # 100k packets in 5 s


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("tcpreplay"), reason="tcpreplay not installed")
def test_20k_pps_no_drops_exact_totals(rlab, collector, start_probe):
    frames = [rlab.frame("h1", "10.1.1.2", f"20.{i // 250}.{i % 250}.1", sport=7000 + i,
                         payload=i % 200) for i in range(FLOWS)]
    octets = sum(len(f) - 14 for f in frames) * LOOPS
    fd, pcap = tempfile.mkstemp(suffix=".pcap", prefix=rlab.lab.prefix)
    os.close(fd)
    try:
        wrpcap(pcap, [Ether(f) for f in frames])
        probe = start_probe([collector.address], "--inactive-timeout", "60")
        subprocess.run(["ip", "netns", "exec", rlab.ns["h1"], "tcpreplay", "-q", "-K",
                        "-i", rlab.hif["h1"], f"--pps={RATE}", f"--loop={LOOPS}", pcap],
                       check=True, capture_output=True, timeout=30)
        stats = probe.ctl("stats")["stats"]
        assert probe.stop() == 0
    finally:
        os.unlink(pcap)
    records = collector.receive(5, until=lambda r: len(r) >= FLOWS)
    assert stats["ring_drops"] == 0
    assert len(records) == FLOWS
    assert sum(r["packets"] for r in records) == FLOWS * LOOPS
    assert sum(r["octets"] for r in records) == octets
