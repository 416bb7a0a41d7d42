"""A run waits for each timed check by its own probe's timeouts (two probes, two timeouts)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from labruns import run_testbed

pytestmark = pytest.mark.root
if os.geteuid() != 0:
    pytest.skip("lab runs need root (namespaces, veths)", allow_module_level=True)

LAB = Path(__file__).with_name("two-timeouts.yaml")


def test_the_slow_probes_check_is_waited_for_by_its_own_timeout():
    """Waiting by the first probe's 1 s timeout stopped the run before the
    other probe's 4 s one expired its flow: the shutdown flush then came
    too early for that probe's window, a false FAIL."""
    done = run_testbed("run", LAB, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS  slow-idle" in done.stdout and "(claimed 4..5.5 s)" in done.stdout


def test_by_inactive_timeout_follows_the_timeout_set_at_run_time():
    """The file says 3 s idle, 30 s active; `control timeouts 1.5 1` makes them
    1 s and 1.5 s for the next flows, and a restart brings back the file's
    (windows from the timeout in effect)."""
    done = run_testbed("run", Path(__file__).with_name("timeouts-at-run-time.yaml"), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS  after-the-change" in done.stdout and "(claimed 1..2 s)" in done.stdout
    assert "PASS  after-the-restart" in done.stdout and "(claimed 3..4 s)" in done.stdout
    assert "PASS  long-flow-pieces" in done.stdout
