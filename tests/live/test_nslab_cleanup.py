"""The test namespaces never outlive their test run: SIGTERM to pytest runs the
teardown, and a run killed outright leaves an owner file the next Lab acts on."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .nslab import OWNERS, Lab, need_root

TESTS = Path(__file__).resolve().parents[1]
MAKER = """
import sys, time
sys.path.insert(0, {tests!r})
from live.nslab import Lab
lab = Lab()
lab.ns("a"); lab.ns("b")
print(lab.prefix, flush=True)
time.sleep(60)
"""
HOLDER = """
import time
def test_holds_namespaces(lab):
    lab.ns("a")
    print("PREFIX", lab.prefix, flush=True)
    time.sleep(60)
"""


SUITE = """
import importlib.util, sys
sys.path.insert(0, {tests!r})
spec = importlib.util.spec_from_file_location("suite_conftest", {tests!r} + "/conftest.py")
suite = importlib.util.module_from_spec(spec)
spec.loader.exec_module(suite)
pytest_configure = suite.pytest_configure  # the suite's SIGTERM handling, under test
from live.conftest import lab
"""


def _namespaces(prefix: str) -> list[str]:
    return sorted(n for n in os.listdir("/run/netns") if n.startswith(prefix + "-"))


def test_a_killed_runs_namespaces_go_with_the_next_lab():
    need_root()
    proc = subprocess.Popen([sys.executable, "-c", MAKER.format(tests=str(TESTS))], stdout=subprocess.PIPE,
                            text=True)
    prefix = proc.stdout.readline().strip()
    try:
        assert _namespaces(prefix) == [f"{prefix}-a", f"{prefix}-b"]
        assert (OWNERS / f"{prefix}.json").is_file()
    finally:
        proc.kill()
        proc.wait()
    assert _namespaces(prefix) == [f"{prefix}-a", f"{prefix}-b"]  # SIGKILL: no cleanup ran
    with Lab():
        assert _namespaces(prefix) == [] and not (OWNERS / f"{prefix}.json").exists()


def test_a_live_labs_namespaces_are_left_alone():
    need_root()
    with Lab() as mine:
        mine.ns("x")
        with Lab():
            assert _namespaces(mine.prefix) == [f"{mine.prefix}-x"]
    assert _namespaces(mine.prefix) == []


def test_sigterm_to_pytest_tears_the_lab_down(tmp_path):
    need_root()
    (tmp_path / "test_hold.py").write_text(HOLDER)
    (tmp_path / "conftest.py").write_text(SUITE.format(tests=str(TESTS)))
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                             "-p", "no:xdist", str(tmp_path / "test_hold.py")],
                            stdout=subprocess.PIPE, text=True, cwd=tmp_path, start_new_session=True)
    try:
        prefix = next(line.split()[-1] for line in proc.stdout if line.startswith("PREFIX"))
        assert _namespaces(prefix) == [f"{prefix}-a"]
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    deadline = time.monotonic() + 5
    while _namespaces(prefix) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _namespaces(prefix) == []
