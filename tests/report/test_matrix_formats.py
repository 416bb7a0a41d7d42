"""`compare --format text|markdown|json`: the same matrix three ways, for a terminal, an
upstream bug report and a program. Shared causes are said once; every FAIL carries the
command that runs that cell again, the exact argv and config, and the files to attach."""
from __future__ import annotations

import json
import shlex

from testbed.expect.verdict import Verdict
from testbed.exporters.version import Version
from testbed.report import matrix_markdown
from testbed.report.environment import Environment
from testbed.report.matrix import LabRun, Matrix, render, to_json

TAIL = "softflowd sets a libpcap timeout of 0 | a block reaches it only when full"
ARGV = ["softflowd", "-d", "-N", "-i", "any", "-n", "10.255.0.2:2055", "inbound"]


def matrix() -> Matrix:
    m = Matrix(["netflow-lab", "softflowd"],
               environment=Environment("6.18.0", "1.10.3 (with TPACKET_V3)", "Debian 12", "3.11.2", "1.7.1"),
               versions={"netflow-lab": Version("netflow-lab", "0.1.0"),
                         "softflowd": Version("softflowd", "1.1.0", "softflowd 1.1.0-1+b1")})
    for lab, checks in (("quiet", ("in-time", "counted")), ("shutdown", ("flushed",))):
        m.runs[lab, "netflow-lab"] = LabRun(lab, f"labs/{lab}.yaml", "netflow-lab", checks)
        m.runs[lab, "softflowd"] = LabRun(lab, f"labs/{lab}.yaml", "softflowd", checks, {"p1": [ARGV]},
                                          {"p1": {"p1.conf": "a: 1\n"}}, f"art/{lab}-softflowd")
        m.add(lab, "netflow-lab", [Verdict(c, "conservation", True, "exported exactly") for c in checks])
        m.add(lab, "softflowd", [Verdict(c, "conservation", False, "5 packets sent; 0 of them exported",
                                         ("1 of 1 flows differ",), cause=TAIL) for c in checks])
    m.add("fields", "netflow-lab", [Verdict("masks", "flow", True, "ok")])
    m.add("fields", "softflowd", [Verdict("masks", "flow", True, na="softflowd does not fill dst_mask")])
    m.runs["fields", "softflowd"] = LabRun("fields", "labs/fields.yaml", "softflowd", ("masks",))
    m.attach["quiet", "counted", "softflowd"] = ["art/quiet-softflowd/pcap/export-ref.pcap"]
    return m


def test_text_says_a_shared_cause_once_and_how_to_reproduce_each_fail():
    text = render(matrix())
    assert text.count(TAIL) == 1
    assert "[1] softflowd, 3 FAILs: " + TAIL in text
    assert "quiet / counted     PASS         FAIL [1] 5 packets sent; 0 of them exported" in text
    assert ("[softflowd] quiet / counted: python -m testbed run labs/quiet.yaml --exporter softflowd "
            "--check counted") in text
    assert "attach: art/quiet-softflowd/pcap/export-ref.pcap" in text
    assert "[softflowd] quiet p1: " + shlex.join(ARGV) in text
    assert "environment: kernel 6.18.0, libpcap 1.10.3 (with TPACKET_V3)" in text
    assert "  softflowd 1.1.0, package softflowd 1.1.0-1+b1" in text
    assert "    - TOS is not part of the flow key" in text  # the kind's notes, from the code
    assert text.endswith("FAILED: netflow-lab 4 pass, 0 fail, 0 n/a; softflowd 0 pass, 3 fail, 1 n/a")


def test_json_parses_and_carries_everything_a_program_needs():
    m = json.loads(to_json(matrix()))
    assert m["passed"] is False and m["environment"]["libpcap"] == "1.10.3 (with TPACKET_V3)"
    assert m["exporter_info"]["softflowd"]["package"] == "softflowd 1.1.0-1+b1"
    (cause,) = m["causes"]
    assert cause == {"number": 1, "exporter": "softflowd", "text": TAIL,
                     "cells": [{"lab": "quiet", "check": "in-time", "exporter": "softflowd"},
                               {"lab": "quiet", "check": "counted", "exporter": "softflowd"},
                               {"lab": "shutdown", "check": "flushed", "exporter": "softflowd"}]}
    counted = next(r for r in m["rows"] if r["check"] == "counted")["cells"]["softflowd"]
    assert counted["cause"] == 1 and counted["attach"] == ["art/quiet-softflowd/pcap/export-ref.pcap"]
    assert shlex.split(counted["reproduce"]) == ["python", "-m", "testbed", "run", "labs/quiet.yaml",
                                                 "--exporter", "softflowd", "--check", "counted"]
    run = next(r for r in m["runs"] if (r["lab"], r["exporter"]) == ("quiet", "softflowd"))
    assert run["commands"] == {"p1": [ARGV]} and run["configs"] == {"p1": {"p1.conf": "a: 1\n"}}


def test_one_cause_of_a_kind_is_said_once_over_its_versions():
    """softflowd, softflowd@9 and softflowd@10 fail for the same ring timeout: one cause,
    its cells named with their columns, every column's cells numbered by it."""
    m = Matrix(["softflowd", "softflowd@9", "softflowd@10", "fprobe"])
    for e in m.exporters:
        m.add("quiet", e, [Verdict("counted", "conservation", False, "0 exported",
                                   cause=TAIL if e != "fprobe" else "its pending queue")])
    first, second = m.causes()
    assert (first.number, first.exporter, first.columns()) == (1, "softflowd", ["softflowd", "softflowd@9",
                                                                                 "softflowd@10"])
    assert (second.number, second.exporter, second.columns()) == (2, "fprobe", ["fprobe"])
    text = render(m)
    assert text.count(TAIL) == 1
    assert "[1] softflowd, softflowd@9, softflowd@10, 3 FAILs: " + TAIL in text
    assert "quiet / counted (softflowd, softflowd@9, softflowd@10)" in text
    assert "[2] fprobe, 1 FAIL: its pending queue" in text and "\n      quiet / counted\n" in text
    md = matrix_markdown.render(m)
    cells = md.split("| quiet / counted |")[1].split("|")[:4]
    assert md.count(TAIL) == 1 and ["FAIL [1]" in c for c in cells] == [True, True, True, False]
    assert md.startswith("# NetFlow conformance: softflowd, softflowd@9, softflowd@10, fprobe")


def test_markdown_tables_have_one_cell_per_column_and_escape_what_would_break_them():
    text = matrix_markdown.render(matrix())
    tables, current = [], None
    for line in text.splitlines():
        if line.startswith("|"):
            current = current if current is not None else []
            current.append(line)
        elif current is not None:
            tables.append(current)
            current = None
    env, grid = tables
    cells = lambda line: [c for c in __import__("re").split(r"(?<!\\)\|", line)[1:-1]]  # noqa: E731
    assert all(len(cells(line)) == 2 for line in env)
    assert cells(grid[0]) == [" lab / check ", " netflow-lab ", " softflowd "]
    assert grid[1] == "|---|---|---|"
    assert all(len(cells(line)) == 3 for line in grid) and len(grid) == 2 + 4
    assert "| quiet / counted | PASS | **FAIL [1] 5 packets sent; 0 of them exported** |" in grid
    assert text.count(TAIL.replace("|", "\\|")) == 0 and text.count(TAIL) == 1  # said once, in prose
    assert "```sh\npython -m testbed run labs/quiet.yaml --exporter softflowd --check counted\n```" in text
    assert "Attach: `art/quiet-softflowd/pcap/export-ref.pcap`" in text
    assert "<details><summary>p1: p1.conf</summary>" in text and shlex.join(ARGV) in text
    assert "- softflowd, `fields`: every check n/a: softflowd does not fill dst_mask" in text
    assert "| softflowd | 1.1.0, package softflowd 1.1.0-1+b1 |" in env


def test_a_lab_the_exporter_cannot_run_is_reproduced_by_validate():
    run = LabRun("cache", "labs/cache.yaml", "fprobe", ("a",), ran=False)
    assert run.reproduce("a") == "python -m testbed validate labs/cache.yaml --exporter fprobe"
    assert LabRun("x", "my labs/x.yaml", "pmacctd", ("a",)).reproduce("probe p1 ran cleanly") == \
        "python -m testbed run 'my labs/x.yaml' --exporter pmacctd"  # not a check of the file: the whole run
