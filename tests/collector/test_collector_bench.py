"""`python -m testbed.collector.bench` runs (so it does not rot): in-process, and live
beside nfcapd at a rate any machine keeps up with. Not a timed test: the figures are
printed, not judged."""
from __future__ import annotations

import shutil
import subprocess
import sys


def test_bench_in_process_and_live():
    done = subprocess.run([sys.executable, "-m", "testbed.collector.bench", "--datagrams", "50"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "v5: decode+sequence+checks" in done.stdout and "IPFIX: decode+sequence+checks" in done.stdout
    argv = [sys.executable, "-m", "testbed.collector.bench", "--live", "--rate", "3000", "--seconds", "1"]
    if not shutil.which("nfcapd"):
        argv += ["--only", "referee"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("offered: 3,000 IPFIX records in 100 datagrams")
    assert lines[1].startswith("referee: 3,000 records (100.0%), socket drops 0"), lines
    if shutil.which("nfcapd"):
        assert lines[2].startswith("nfcapd:  3,000 records (100.0%), socket drops 0"), lines
