"""Agreement with nfdump's nfcapd: one datagram stream over loopback to both.

The stream is built here (struct), with gaps, a duplicate, reordering and a
reset injected. nfcapd counts a "sequence failure" whenever a datagram does
not follow the one received before it; our collector reports the same count
(nfcapd_failures) next to its finer accounting, and the same record count.
"""
from __future__ import annotations

import random
import re
import shutil
import socket
import subprocess
import time
from itertools import zip_longest

import pytest

from nfv5_build import datagram
from testbed.collector import start_collector

pytestmark = pytest.mark.skipif(not (shutil.which("nfcapd") and shutil.which("nfdump")),
                                reason="needs nfcapd and nfdump (Debian package nfdump)")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bound(port: int) -> bool:
    ss = subprocess.run(["ss", "-Hnul", f"sport = :{port}"], capture_output=True, text=True)
    return ss.returncode == 0 and f":{port}" in ss.stdout


class Nfcapd:
    """nfcapd in the foreground on 127.0.0.1, writing into its own directory."""

    def __init__(self, tmp_path):
        self.dir = tmp_path / "flows"
        self.dir.mkdir()
        self.log = tmp_path / "nfcapd.log"
        for _ in range(3):  # the free port may be taken between probing and binding
            self.port = free_udp_port()
            with open(self.log, "w") as out:
                self.proc = subprocess.Popen(["nfcapd", "-w", str(self.dir), "-p", str(self.port),
                                              "-b", "127.0.0.1", "-t", "3600"], stdout=out, stderr=out)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and self.proc.poll() is None and not bound(self.port):
                time.sleep(0.02)
            if self.proc.poll() is None and bound(self.port):
                return
            self.stop()
        raise RuntimeError(f"nfcapd did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        """SIGTERM by pid: nfcapd flushes and closes its file."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def exporters(self) -> dict[int, tuple[int, int]]:
        """engine ID -> (sequence failures, flows), summed over nfcapd's files."""
        out: dict[int, tuple[int, int]] = {}
        for f in sorted(self.dir.glob("nfcapd.*")):
            text = subprocess.run(["nfdump", "-E", str(f)], capture_output=True, text=True, check=True).stdout
            for eid, fails, flows in re.findall(r"ID:\s*(\d+), Sequence failures: (\d+), packets: \d+, "
                                                r"flows: (\d+)", text):
                old = out.get(int(eid), (0, 0))
                out[int(eid)] = (old[0] + int(fails), old[1] + int(flows))
        return out

    def totals(self) -> tuple[int, int]:
        """(sequence failures, flows) from `nfdump -R dir -I`."""
        text = subprocess.run(["nfdump", "-R", str(self.dir), "-I"], capture_output=True, text=True,
                              check=True).stdout
        return (int(re.search(r"^Sequence failures: (\d+)", text, re.M).group(1)),
                int(re.search(r"^Flows: (\d+)", text, re.M).group(1)))


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

    nfcapd = Nfcapd(tmp_path)
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
    theirs = nfcapd.exporters()
    r1, r2 = result.exporter_report("127.0.0.1", 0, 1), result.exporter_report("127.0.0.1", 0, 2)

    assert theirs[1] == (r1.nfcapd_failures, r1.records) == (3, sum(d[2] for d in gaps_only))
    assert r1.gaps == 3 and r1.records_lost == dropped  # nfcapd cannot count the records lost
    assert theirs[2] == (r2.nfcapd_failures, r2.records)
    assert (r2.gaps, r2.duplicates, r2.reordered, r2.resets) == (2, 1, 1, 1)
    assert r2.records_lost == s2[3][2]  # the reordered pair lost nothing
    assert nfcapd.totals() == (r1.nfcapd_failures + r2.nfcapd_failures, result.summary.records)
    assert result.live["socket_drops"] == 0
