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
