"""The real CLI exports a generated capture to nfdump's nfcapd; nfdump reads back
exactly the capture's ground truth, with no sequence failure and nothing lost."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from nfcapd_run import loopback_nfcapd, records

from probe.bench import gen

pytestmark = pytest.mark.skipif(not (shutil.which("nfcapd") and shutil.which("nfdump")),
                                reason="needs nfdump's nfcapd and nfdump")


def run_probe(pcap: str, port: int, *extra: str) -> dict[str, str]:
    """`python -m probe -r PCAP -n 127.0.0.1:PORT`; its printed statistics."""
    done = subprocess.run([sys.executable, "-m", "probe", "-r", pcap, "-n", f"127.0.0.1:{port}",
                           *extra], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    pairs = (line.split(":", 1) for line in done.stdout.splitlines())
    return {k.strip(): v.strip() for k, v in pairs}


def export_and_collect(tmp_path, pcap: str, *extra: str):
    with loopback_nfcapd(str(tmp_path)) as nfcapd:
        stats = run_probe(pcap, nfcapd.port, *extra)
    return stats, nfcapd.result


def check(tmp_path, pcap: str, truth: gen.Truth, *extra: str) -> None:
    stats, nfcapd = export_and_collect(tmp_path, pcap, *extra)
    got = nfcapd.totals
    assert stats["send_errors"] == "0"
    assert nfcapd.socket_drops == 0, f"nfcapd's socket dropped {nfcapd.socket_drops} datagrams"
    assert got.sequence_failures == 0
    assert (got.flows, got.packets, got.bytes) == (
        int(stats["records_sent"]), int(stats["packets"]), int(stats["octets"]))
    assert (got.flows, got.packets, got.bytes) == (len(truth.flows), truth.packets, truth.octets)
    # one record per key, each with the truth's counts, flags and times (ms)
    stored = records(str(tmp_path / "flows"))
    assert stored.keys() == truth.flows.keys()
    for key, c in truth.flows.items():
        assert stored[key] == (c.packets, c.octets, c.tcp_flags,
                               c.first_us // 1000, c.last_us // 1000), key


def test_small_capture_matches_truth(tmp_path, small_capture):
    check(tmp_path, *small_capture)


@pytest.mark.slow
@pytest.mark.parametrize("duration_s", [pytest.param(90.0, id="spread"),
                                        pytest.param(5.0, id="flush-burst")])
def test_million_packets_lose_nothing(tmp_path, duration_s):
    """1M packets / 100k flows at the default --export-rate. With 5 s of traffic
    every flow is still live at the end, so the final flush sends ~3,300
    datagrams at once: unpaced, nfcapd's default socket buffer overflows."""
    pcap = str(tmp_path / "big.pcap")
    truth = gen.write(pcap, 1_000_000, 100_000, seed=1, duration_s=duration_s)
    check(tmp_path, pcap, truth)
