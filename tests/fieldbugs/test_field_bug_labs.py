"""The field-bug labs (topologies/field-bugs/*.yaml) prove the testbed catches each
r135400 bug of FIELD-BUGS.md.

Each lab runs twice, as CI does: with our probe every check must pass (a
failure is a false alarm); with `--quirk-on` (the probe reproduces the bug
the file's `reproduces:` names) the run must fail, and at least the checks
that `reproduces.checks` names must be among the failures (the bug is
caught). The verdicts are read from the run's JUnit XML. At the end the
module prints one line: "field-bug labs: 9/9 caught, 0 false alarms ...".

The unit tests at the top need no root: the files are valid, one per quirk,
and every quirk id has its lab and its section in docs/field-bugs.md.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from probe import quirks as Q
from testbed.topology import load, validate

ROOT = Path(__file__).resolve().parents[2]
LAB_DIR = ROOT / "topologies" / "field-bugs"
LABS = sorted(LAB_DIR.glob("*.yaml"))
DOC = ROOT / "docs" / "field-bugs.md"
RUN_TIMEOUT_S = 180  # one run takes a few seconds; this only stops a hung lab


def _id(path: Path) -> str:
    return path.stem


# -- the files (no root) --------------------------------------------------------


@pytest.mark.parametrize("path", LABS, ids=_id)
def test_field_bug_file_is_valid(path):
    assert validate(path) == []


def test_one_lab_per_quirk_covers_every_field_bug():
    quirks = [load(p).reproduces.quirk for p in LABS]
    assert len(quirks) == len(set(quirks)), f"two labs reproduce the same quirk: {quirks}"
    assert sorted(quirks) == sorted(Q.ALL)
    for path in LABS:  # the file is named after its quirk: easy to find from FIELD-BUGS.md
        assert load(path).reproduces.quirk == path.stem


@pytest.mark.parametrize("path", LABS, ids=_id)
def test_catching_checks_speak_to_the_operator(path):
    topo = load(path)
    rep = topo.reproduces
    assert rep.symptom, f"{path.name}: reproduces: symptom: is empty"
    checks = {c.name: c for c in topo.expect}
    for name in rep.checks:
        assert checks[name].message, f"{path.name}: check {name} has no message: for the operator"


def test_docs_list_every_bug_with_its_lab_and_checks():
    text = DOC.read_text()
    for path in LABS:
        rep = load(path).reproduces
        section = text.split(f"## `{rep.quirk}`", 1)
        assert len(section) == 2, f"docs/field-bugs.md has no section ## `{rep.quirk}`"
        body = section[1].split("\n## ", 1)[0]
        assert f"topologies/field-bugs/{path.name}" in body
        for name in rep.checks:
            assert f"`{name}`" in body, f"docs: section {rep.quirk} does not name check {name}"


# -- the runs (root) ------------------------------------------------------------


@dataclass
class LabRun:
    lab: str
    quirk_on: bool
    rc: int
    seconds: float
    verdicts: dict[str, tuple[bool, str]]  # check name -> (passed, failure text)
    output: str

    @property
    def failed(self) -> set[str]:
        return {n for n, (ok, _) in self.verdicts.items() if not ok}

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


@dataclass
class Tally:
    runs: list[LabRun] = field(default_factory=list)
    caught: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)
    clean: list[str] = field(default_factory=list)

    def summary(self) -> str:
        quirk_runs = len(self.caught) + len(self.missed)
        plain_runs = len(self.clean) + len(self.false_alarms)
        total = sum(r.seconds for r in self.runs)
        line = (f"field-bug labs: {len(self.caught)}/{quirk_runs} caught, "
                f"{len(self.false_alarms)} false alarm{'s' if len(self.false_alarms) != 1 else ''} "
                f"({len(self.runs)} runs in {total:.1f} s)")
        if self.missed:
            line += f"; missed: {', '.join(self.missed)}"
        if self.false_alarms:
            line += f"; false alarms: {', '.join(self.false_alarms)}"
        if plain_runs + quirk_runs == 0:
            return "field-bug labs: no lab ran"
        per_lab: dict[str, list[str]] = {}
        for r in self.runs:
            per_lab.setdefault(r.lab, []).append(f"{'quirk' if r.quirk_on else 'fixed'} {r.seconds:.1f} s")
        return line + "\n" + "\n".join(f"  {lab}: {', '.join(t)}" for lab, t in sorted(per_lab.items()))


@pytest.fixture(scope="module")
def tally(request):
    t = Tally()
    yield t
    if not t.runs:
        return
    text = t.summary()
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is None or capture is None:
        print(text)
        return
    with capture.global_and_fixture_disabled():  # shown on the terminal even under -q
        reporter.write_line("")
        for line in text.splitlines():
            reporter.write_line(line)


@pytest.fixture
def need_root():
    if os.geteuid() != 0:
        pytest.skip("lab runs need root (namespaces, veths)")


def read_junit(path: Path) -> dict[str, tuple[bool, str]]:
    verdicts = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        failure = case.find("failure")
        verdicts[case.get("name")] = (failure is None, "" if failure is None else (failure.text or ""))
    return verdicts


def run_lab(path: Path, tmp: Path, quirk_on: bool) -> LabRun:
    junit = tmp / f"{path.stem}.{'quirk' if quirk_on else 'fixed'}.xml"
    argv = [sys.executable, "-m", "testbed", "run", str(path), "--junit", str(junit),
            "--report", str(junit.with_suffix(".html"))]  # the report draws buggy exports too
    if quirk_on:
        argv.append("--quirk-on")
    began = time.monotonic()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=RUN_TIMEOUT_S)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)  # the run tears its lab down on the way out
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        rc, output = -1, f"timed out after {RUN_TIMEOUT_S} s\n{output}"
    seconds = time.monotonic() - began
    verdicts = read_junit(junit) if junit.exists() else {}
    return LabRun(path.stem, quirk_on, rc, seconds, verdicts, output)


@pytest.mark.root
@pytest.mark.parametrize("quirk_on", [False, True], ids=["fixed", "quirk-on"])
@pytest.mark.parametrize("path", LABS, ids=_id)
def test_field_bug_lab(path, quirk_on, tmp_path, tally, need_root):
    topo = load(path)
    rep = topo.reproduces
    run = run_lab(path, tmp_path, quirk_on)
    tally.runs.append(run)
    names = {c.name for c in topo.expect}
    if not quirk_on:
        ok = run.rc == 0 and set(run.verdicts) == names and not run.failed
        (tally.clean if ok else tally.false_alarms).append(run.lab)
        assert run.rc == 0, f"{path.name}: exit {run.rc} without the quirk (a false alarm):\n{run.tail()}"
        assert set(run.verdicts) == names, f"JUnit lists {sorted(run.verdicts)}, the file {sorted(names)}"
        assert not run.failed, f"checks failed without the quirk: {sorted(run.failed)}\n{run.tail()}"
    else:
        missing = set(rep.checks) - run.failed
        crashed = {n for n in run.failed if n.startswith("probe ")}  # caught for the wrong reason
        ok = run.rc == 1 and not missing and not crashed
        (tally.caught if ok else tally.missed).append(run.lab)
        assert run.rc == 1, f"{path.name} --quirk-on: exit {run.rc}, expected 1 (a check fails):\n{run.tail()}"
        assert not missing, (f"{path.name} --quirk-on: {rep.quirk} slipped through {sorted(missing)} "
                             f"(failed: {sorted(run.failed)})\n{run.tail()}")
        assert not crashed, f"{path.name} --quirk-on: the probe crashed: {sorted(crashed)}\n{run.tail()}"
        for name in rep.checks:  # the failure carries the operator's message
            message = next(c.message for c in topo.expect if c.name == name)
            assert " ".join(message.split()) in " ".join(run.verdicts[name][1].split())
    report = tmp_path / f"{path.stem}.{'quirk' if quirk_on else 'fixed'}.html"
    assert "HTML report failed" not in run.output and f'id="{topo.name}-timeline"' in report.read_text()
