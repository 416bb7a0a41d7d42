"""Ctrl-C while `python -m testbed` or `python -m probe` loads its modules (up to a second):
one line and status 130, never a traceback from our code. (Before the first line of our
__main__ runs - the interpreter starting, a few tens of ms, longer on a loaded machine: site,
the venv's .pth files - it is Python's own: a clean-clone CI run once caught one there.)"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("argv, line", [
    (["testbed", "validate", "topologies/quickstart.yaml"], "python -m testbed: interrupted"),
    (["probe", "-r", "samples/office.pcap", "--print"], "python -m probe: interrupted"),
])
def test_ctrl_c_while_loading_is_one_line(argv, line):
    caught = 0
    for delay in (0.02, 0.05, 0.1, 0.2, 0.3, 0.5):
        proc = subprocess.Popen([sys.executable, "-m", *argv], cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=60)[1]
        # a frame in our files; Python's own start-up (site, the venv's editable finder) is not ours
        ours = [f for f in ("testbed", "probe") if f'File "{ROOT}/{f}/' in err]
        assert not ("Traceback" in err and ours), (delay, err)
        if proc.returncode == 130:
            assert err.strip().splitlines()[-1] == line, err
            caught += 1
    assert caught, "no Ctrl-C landed while the modules loaded (too fast a machine for this test)"
