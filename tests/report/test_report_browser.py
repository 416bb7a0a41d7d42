"""The HTML report as a person sees it: two labs run, their reports opened in
headless Chromium. A green lab's page shows no failure; a failing one's
(tests/report/labs/late-and-lost.yaml: an export expected too early, a
datagram lost on the way to the collector) shows the failed lane and the
sequence gap, in the screenshot and by element id in the DOM."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import browser
from browser import Elements

pytestmark = [pytest.mark.root, pytest.mark.slow]
if os.geteuid() != 0:
    pytest.skip("lab runs need root (namespaces, veths)", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
GREEN = ROOT / "topologies" / "quickstart.yaml"
FAILING = Path(__file__).parent / "labs" / "late-and-lost.yaml"
FAILED_BAND = (0xFD, 0xE0, 0xDD)  # timeline.FAILED: a failed check's lane
RED = (0xCB, 0x18, 0x1D)  # FAIL badges, the gap, a datagram that never came


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Both labs in one `run` (-j 2): one page for both (--report), and each
    lab's own report.html in its artifacts folder."""
    if browser.chromium() is None:
        pytest.skip("no chromium (ci/setup installs Debian's)")
    tmp = tmp_path_factory.mktemp("report")
    done = subprocess.run([sys.executable, "-m", "testbed", "run", str(GREEN), str(FAILING), "-j", "2",
                           "--report", str(tmp / "both.html"), "--artifacts", str(tmp / "artifacts")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr  # the failing lab fails
    assert "HTML report failed" not in done.stderr, done.stderr
    return tmp, done


def pixels(png: Path) -> dict[tuple[int, int, int], int]:
    img = Image.open(png).convert("RGB")
    return {rgb: n for n, rgb in img.getcolors(img.width * img.height)}


def look(runs, lab: str) -> tuple[dict, Elements, str]:
    tmp, _ = runs
    page = tmp / "artifacts" / lab / "report.html"
    shot = browser.screenshot(page, tmp / f"{lab}.png")
    dom = browser.dump_dom(page)
    return pixels(shot), Elements(dom), dom


def test_a_green_labs_report_shows_no_failure(runs):
    colors, e, dom = look(runs, "quickstart")
    total = sum(colors.values())
    assert total - colors.get((255, 255, 255), 0) > total * 0.05, "the screenshot is blank"
    assert colors.get(FAILED_BAND, 0) == 0 and colors.get(RED, 0) == 0
    rows = [k for k in e.by_id if k.startswith("quickstart-check-")]
    assert len(rows) == 7 and all(e.by_id[r][1]["class"] == "pass" for r in rows)
    assert not [k for k in e.by_id if k.endswith("-failed") or "-gap-" in k]
    assert {"quickstart-lane-0", "quickstart-seq-0", "quickstart-topo-node-r1",
            "quickstart-probe-stats-p1"} <= set(e.by_id)
    assert "<script" not in dom


def test_a_failing_labs_report_shows_the_failed_lane_and_the_gap(runs):
    colors, e, dom = look(runs, "late-and-lost")
    total = sum(colors.values())
    assert total - colors.get((255, 255, 255), 0) > total * 0.05, "the screenshot is blank"
    assert colors.get(FAILED_BAND, 0) > 2000, "no failed lane to be seen"
    assert colors.get(RED, 0) > 200, "no red: FAIL badges, the gap"
    p = "late-and-lost-"
    row = e.by_id[f"{p}check-udp-exported-too-early"]
    assert row[1]["class"] == "fail"
    assert "export delay: expected 0.5..1.5 s" in e.text[f"{p}check-udp-exported-too-early"]
    (lane,) = re.findall(rf'id="{p}check-udp-exported-too-early".*?href="#({p}lane-\d+)"', dom, re.S)[:1]
    assert f"{lane}-failed" in e.by_id and f"{lane}-window-udp-exported-too-early" in e.by_id
    assert f"{p}seq-0-gap-0" in e.by_id, "the gap is not drawn"
    assert "1 record missing before it" in e.text[f"{p}seq-0-gap-0-text"]
    assert f"{p}seq-0-lost-0" in e.by_id, "the datagram the probe sent and the collector missed"
    assert e.by_id[f"{p}check-tcp-exported-at-fin"][1]["class"] == "pass"
    for reason in ("inactive", "tcp_fin_rst", "flush: sent, never received"):  # from the probe's records file
        assert re.search(rf">\s*{reason}\s*<", dom), reason


def test_one_page_holds_every_lab_of_a_run(runs):
    tmp, done = runs
    assert f"report: {tmp / 'both.html'}" in done.stdout
    dom = browser.dump_dom(tmp / "both.html")
    e = Elements(dom)
    assert {"labs", "quickstart-lab", "late-and-lost-lab", "quickstart-lane-0", "late-and-lost-seq-0-gap-0"} \
        <= set(e.by_id)
    assert "<h1>2 labs: 1 passed</h1>" in dom
