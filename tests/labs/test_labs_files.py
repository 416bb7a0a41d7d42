"""Every lab in topologies/ and topologies/faults/ validates and runs green end to end,
and leaves nothing of its run behind."""
from __future__ import annotations

import os

import pytest

from labruns import TOPOLOGIES, StateWatch, leftovers, run_id_of, run_testbed
from testbed.topology import load

pytestmark = pytest.mark.root
if os.geteuid() != 0:
    pytest.skip("lab runs need root (namespaces, veths)", allow_module_level=True)

LABS = (sorted(TOPOLOGIES.glob("*.yaml")) + sorted((TOPOLOGIES / "faults").glob("*.yaml"))
        + sorted((TOPOLOGIES / "conformance").glob("*.yaml")))


def test_there_are_labs():
    assert {p.name for p in LABS} >= {"quickstart.yaml", "two-routers.yaml", "four-ports.yaml",
                                      "timeouts.yaml", "cache-pressure.yaml", "fragments.yaml",
                                      "route-change.yaml", "big-ifindex.yaml"}


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.stem)
def test_lab_validates(path):
    done = run_testbed("validate", path)
    assert done.returncode == 0, done.stderr
    assert f"{path}: ok: " in done.stdout


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.stem)
def test_lab_runs_green_and_cleans_up(path, tmp_path):
    state_dir, report = tmp_path / "state", tmp_path / "report.html"
    with StateWatch(state_dir) as watch:
        done = run_testbed("run", path, "--state-dir", state_dir, "--report", report)
    assert done.returncode == 0, f"{path.name} failed:\n{done.stdout}\n{done.stderr}"
    assert "PASSED:" in done.stdout and "FAIL " not in done.stdout
    html = report.read_text()  # the HTML report of every lab: all its parts drawn
    assert f'id="{load(path).name}-timeline"' in html and "HTML report failed" not in done.stderr
    assert html.count("<svg") >= 3, "timeline, sequence chart and topology"
    run = run_id_of(done.stdout)
    state = watch.states[run]
    assert state["nodes"] and state["processes"]  # the watch saw the whole run
    assert leftovers(state, state_dir) == []
