"""`python -m probe.bench` runs end to end on a small capture (so it does not rot)."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest


@pytest.mark.skipif(shutil.which("softflowd") is None, reason="needs softflowd")
def test_bench_smoke(tmp_path):
    done = subprocess.run([sys.executable, "-m", "probe.bench", "--packets", "20000",
                           "--flows", "2000", "--memory-flows", "5000", "--top", "3",
                           "--repeat", "1", "--cache-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for needle in ("fast engine in-process", "reference engine in-process", "fast CLI",
                   "reference CLI", "softflowd -r", "ratio to softflowd",
                   "memory per cached flow", "whole-process peak RSS per flow",
                   "start-to-ready", "hot spots", "decode"):
        assert needle in out, out
    rows = [line.split() for line in out.splitlines() if " end to end " in line]  # the table
    assert len(rows) >= 4, out
    assert all(row[-2:] == ["2,000", "20,000"] for row in rows), out  # every record and packet
