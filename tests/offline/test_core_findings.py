"""Core behaviours found while writing the offline tests (fixed since)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from capture_formats import read_classic

from probe.bench import gen


def cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "probe", *argv], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("option", ["--active-timeout", "--inactive-timeout", "--scan-interval"])
@pytest.mark.parametrize("value", ["inf", "1e400"])
def test_infinite_timeout_is_a_usage_error(small_capture, option, value):
    done = cli("-r", small_capture[0], "--print", option, value)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-300:]


def test_capture_cut_inside_its_last_record_exports_what_was_read(tmp_path):
    path = str(tmp_path / "cut.pcap")
    gen.write(path, packets=2000, flows=200, seed=4)
    data = open(path, "rb").read()
    complete = len(read_classic(path)) - 1
    with open(path, "wb") as f:
        f.write(data[:-10])  # as a killed tcpdump leaves it: the last packet cut short
    done = cli("-r", path, "--print")
    assert "truncated" in done.stderr  # said clearly, whatever the exit status
    exported = sum(json.loads(line)["packets"] for line in done.stdout.splitlines())
    assert exported == complete


class FakeTime:
    """Stands in for the `time` module inside probe.offline_cli."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


# A default collector socket (rmem_default 212992 B) holds about 90 full v5
# datagrams on loopback (truesize ~2.3 kB each): a burst must stay well below.
MAX_BURST = 32


@pytest.mark.parametrize("rate", [5000, 20000])
def test_pacer_sends_no_burst_after_idling(monkeypatch, rate):
    offline_cli = pytest.importorskip("probe.offline_cli")
    clock = FakeTime()
    monkeypatch.setattr(offline_cli, "time", clock)
    pacer = offline_cli.Pacer(rate)
    clock.now += 1.0  # the file took a second to read before the first datagram
    start = clock.now
    sent = 0
    while clock.now == start:  # every datagram that leaves without any wait
        pacer.wait()
        sent += clock.now == start
    assert sent <= MAX_BURST
