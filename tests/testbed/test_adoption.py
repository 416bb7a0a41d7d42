"""Another team's CI: netflow-lab installed with pip into a venv outside this checkout, its
labs and pytest files run from their own repository - the commands of docs/ci/netflow-lab.yml,
run by ci/workflow (each matrix shard its own job), on this machine."""
from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.root, pytest.mark.slow]


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the workflow builds labs: root")
    ws = tmp_path_factory.mktemp("ws")
    done = subprocess.run([str(ROOT / "ci" / "workflow"), "--workspace", str(ws)], capture_output=True,
                          text=True, timeout=900, env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"})
    return ws, done


def test_the_workflow_runs_every_shard_and_the_pytest_file(workflow):
    ws, done = workflow
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    labs = {}
    for shard in (1, 2):
        job = ws / f"labs-{shard}"
        (suite,) = ET.parse(job / f"junit-labs-{shard}.xml").getroot().iter("testsuite")
        labs[shard] = suite.get("name")
        assert suite.get("failures") == "0" and int(suite.get("tests")) > 0
        assert not (job / "failed-labs").exists()  # every lab passed: nothing kept to upload
    assert sorted(labs.values()) == ["netflow-lab.quickstart", "netflow-lab.softflowd-counts"]
    (suite,) = ET.parse(ws / "labs-1" / "junit-pytest.xml").getroot().iter("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("1", "0", "0", "0")
    assert not (ws / "labs-2" / "junit-pytest.xml").exists()  # if: matrix.shard == 1
    assert "upload-artifact junit-2: junit-labs-2.xml" in done.stdout


def test_what_ran_was_installed_not_this_checkout(workflow):
    ws, done = workflow
    python = ws / "venv" / "bin" / "python"
    where = subprocess.run([str(python), "-c", "import testbed, probe.fast._engine as e; "
                            "print(testbed.__file__); print(e.__file__)"], cwd=ws, capture_output=True, text=True)
    assert where.returncode == 0, where.stderr
    assert all(line.startswith(str(ws / "venv")) for line in where.stdout.split()), where.stdout  # compiled there
    labs = subprocess.run([str(python), "-m", "testbed", "labs", "conformance"], cwd=ws, capture_output=True, text=True)
    assert labs.returncode == 0 and len(labs.stdout.split()) == 8
    assert all(p.startswith(str(ws / "venv" / "share" / "netflow-lab")) for p in labs.stdout.split())
