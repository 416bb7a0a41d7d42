"""`python -m probe.bench` runs end to end on a small capture (so it does not rot)."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("softflowd") is None, reason="needs softflowd")
def test_bench_smoke(tmp_path):
    done = subprocess.run([sys.executable, "-m", "probe.bench", "--packets", "20000",
                           "--flows", "2000", "--memory-flows", "5000", "--top", "3",
                           "--repeat", "1", "--live-seconds", "0", "--cache-dir", str(tmp_path),
                           "--paired-runs", "1"],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for needle in ("fast engine in-process", "reference engine in-process", "fast CLI",
                   "reference CLI", "softflowd -r", "ratio to softflowd",
                   "memory per cached flow", "whole-process peak RSS per flow",
                   "target: fast CLI <= 100 B", "end to end vs softflowd, paired",
                   "start-to-ready", "hot spots", "decode"):
        assert needle in out, out
    rows = [line.split() for line in out.splitlines() if " end to end " in line]  # the table
    assert len(rows) >= 4, out
    assert all(row[-2:] == ["2,000", "20,000"] for row in rows), out  # every record and packet


@pytest.mark.root
@pytest.mark.skipif(shutil.which("trafgen") is None, reason="needs trafgen (netsniff-ng)")
def test_routed_bench_smoke():
    """h1 -> r1 -> h2 with the probe on r1: at a fifth of the forwarding limit
    the fast engine accounts every packet and the ring drops none; a paired
    unpaced round measures it and the peer against the bare router."""
    engines = "fast,softflowd" if shutil.which("softflowd") else "fast"
    done = subprocess.run([sys.executable, "-m", "probe.bench.routed", "--limit-packets",
                           "50000", "--seconds", "0.3", "--fractions", "0.2",
                           "--engines", engines, "--rounds", "1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "kernel forwarding limit" in out, out
    steps = [line for line in out.splitlines() if line.split()[:1] == ["fast"]]
    assert steps and "exact, no drop" in steps[0], out
    rounds = [line for line in out.splitlines() if line.startswith("round 1:")]
    assert [line.split()[2] for line in rounds] == ["bare"] + engines.split(","), out
    for engine in engines.split(","):
        assert f"{engine}: median " in out and "of the bare forwarding rate" in out, out
