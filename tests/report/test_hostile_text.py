"""Control characters in check names, messages and what a verdict observed (a lab file's
"\\e]0;title\\a", an exporter's own output in a failure) reach no output raw: the terminal
table, JUnit (well-formed XML), the HTML report, the compare matrix and JSON show them
escaped; validate refuses them where a lab file is the source."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

import synthetic
from testbed.expect.verdict import Verdict, not_applicable
from testbed.report import html, junit, matrix, table
from testbed.run.many import result_from_json, result_json
from testbed.topology import TopologyError, loads

OSC = "\x1b]0;pwned\x07"  # retitles a terminal window
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
QUICKSTART = Path(__file__).resolve().parents[2] / "topologies" / "quickstart.yaml"


@pytest.fixture
def hostile(tmp_path):
    verdicts = [
        Verdict(f"name{OSC}", "flow", False, f"seen\x00{OSC}", (f"problem \x9b2J\r", "bell\x07"), f"hint{OSC}"),
        Verdict("ok\x1b[8m", "sequence", True, "observed \x1b[8mhidden"),
        not_applicable(f"na{OSC}", "flow", "why\x00"),
    ]
    return replace(synthetic.run(tmp_path), verdicts=verdicts)


def test_the_terminal_table_shows_them_escaped(hostile):
    text = table.render(hostile, color=False)
    assert not RAW.search(text), repr(text)
    assert "name\\x1b]0;pwned\\x07" in text and "problem \\x9b2J\\x0d" in text


def test_junit_is_well_formed_and_says_what_was_there(hostile, tmp_path):
    path = tmp_path / "j.xml"
    junit.write([hostile, hostile], path)
    root = ET.parse(path).getroot()  # ill-formed XML raises here
    case = root.find(".//testcase/failure/..")
    assert case.get("name") == "name\\x1b]0;pwned\\x07"
    assert "bell\\x07" in case.find("failure").text and not RAW.search(path.read_text())


def test_the_html_report_shows_them_escaped(hostile):
    page = html.page([html.section(hostile)], "t")
    assert not RAW.search(page)
    assert "name\\x1b]0;pwned\\x07" in page


def test_the_compare_matrix_and_json(hostile):
    m = matrix.Matrix(["netflow-lab", "softflowd"])
    m.add("lab\x1b", "netflow-lab", hostile.verdicts)
    m.add("lab\x1b", "softflowd", hostile.verdicts)
    text = matrix.render(m)
    assert not RAW.search(text) and "lab\\x1b / name\\x1b]0;pwned\\x07" in text
    out = matrix.to_json(m)
    assert not RAW.search(out) and json.loads(out)["rows"][0]["check"] == f"name{OSC}"
    back = json.dumps(result_json(hostile))
    assert not RAW.search(back) and result_from_json(json.loads(back)).verdicts[0].name == f"name{OSC}"


@pytest.mark.parametrize("edit, where", [
    (lambda t: t.replace("- name: tcp-flow-has-the-right-interfaces", '- name: "tcp\\e]0;pwned\\a"'), "a check name"),
    (lambda t: t.replace("message: in/out ifindex or route enrichment is wrong on r1", 'message: "bell\\a"'),
     "a message for the operator"),
])
def test_validate_refuses_them_in_a_lab_file_at_their_line(edit, where):
    text = edit(QUICKSTART.read_text())
    assert text != QUICKSTART.read_text()
    with pytest.raises(TopologyError) as exc:
        loads(text, source="q.yaml")
    found = [str(p) for p in exc.value.problems]
    assert any(f"{where} holds a control character (\\x1b)" in p or f"{where} holds a control character (\\x07)"
               in p for p in found), found
    assert not any(RAW.search(p) for p in found)
