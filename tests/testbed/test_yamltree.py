"""Hostile lab files: one `file:line: message` each, exit 2, no traceback, no minutes of work."""
from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from testbed.topology import TopologyError, loads, validate

BOMB = "\n".join(["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"] + [
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi")])  # 9^9 values
MERGE_BOMB = "\n".join(["a0: &a0 {k: 1, j: 2}"] + [
    f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]}}" for i in range(1, 16)])


def _validate(tmp_path, data: bytes) -> subprocess.CompletedProcess:
    """`python -m testbed validate` on `data`, with 300 MB of memory at most."""
    path = tmp_path / "lab.yaml"
    path.write_bytes(data)

    def small():
        resource.setrlimit(resource.RLIMIT_AS, (300 << 20, 300 << 20))

    return subprocess.run([sys.executable, "-m", "testbed", "validate", str(path)], capture_output=True,
                          text=True, timeout=30, preexec_fn=small)


EXPANDS = "its aliases (*name) expand to more than 100000 values: an alias bomb? " \
          "(write the values out, or use fewer aliases)"


@pytest.mark.parametrize("text, line, message", [
    (BOMB, 6, EXPANDS),  # the first value that alone expands too far (9^6)
    (MERGE_BOMB, 9, EXPANDS),
    ("name: x\nnodes:\n  a: &a [1, *a]\n", 3, "an alias (*name) inside its own anchor (&name)"),
    ("x: " + "[" * 5000 + "]" * 5000 + "\n", 1, "not valid YAML: nested too deeply"),
], ids=["alias-bomb", "merge-bomb", "self-alias", "deep"])
def test_expansion_is_refused_at_once(tmp_path, text, line, message):
    done = _validate(tmp_path, text.encode())
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-500:]
    assert done.stderr.splitlines() == [f"{tmp_path / 'lab.yaml'}:{line}: {message}"]


def test_the_bomb_is_small():
    assert len(BOMB) < 400 and len(MERGE_BOMB) < 800  # a few hundred bytes


@pytest.mark.parametrize("data, line, message", [
    (b"name: x\nnodes:\n  r1: {kind: router}\n  \xff\xfe: 1\n", 4, "not UTF-8 text: byte 0xff (save the file as UTF-8)"),
    (b"name: x\x00\nnodes: {}\n", 1, "a NUL byte: this is not a text file"),
    (b"name: x\nnodes: {}\ndescription: \"a\x07b\"\n", 3, "character U+0007 is not allowed in YAML"),
], ids=["not-utf8", "nul", "control"])
def test_bytes_that_are_not_text_are_one_line(tmp_path, data, line, message):
    done = _validate(tmp_path, data)
    assert done.returncode == 2 and done.stderr.splitlines() == [f"{tmp_path / 'lab.yaml'}:{line}: {message}"]


def test_errors_cut_long_values(tmp_path):
    (problem,) = validate(_write(tmp_path, "name: " + "x" * 100_000 + "\nnodes:\n  r1: {kind: router}\n"))
    assert len(str(problem)) < 400 and "characters cut" in str(problem) and problem.line == 1


def test_aliases_and_merge_keys_still_work():
    topo = loads("name: x\nnodes:\n  r1: &r {kind: router}\n  r2: {<<: *r}\n  h1: {kind: host}\n")
    assert [n.kind for n in topo.nodes.values()] == ["router", "router", "host"]


def _write(tmp_path, text: str):
    path = tmp_path / "lab.yaml"
    path.write_text(text)
    return path


def test_a_key_or_value_with_line_breaks_is_quoted_on_one_line():
    """Found by ci/fuzz: a quoted key holding a newline made a two-line error."""
    text = 'name: x\nnodes:\n  r1:\n    kind: router\n    interfaces:\n      "eth0\\n- eth9": 10.0.1.1/24\n'
    with pytest.raises(TopologyError) as exc:
        loads(text, source="lab.yaml")
    lines = [str(p) for p in exc.value.problems]
    assert lines and all("\n" not in line for line in lines)
    assert "nodes.r1.interfaces.eth0\\n- eth9" in lines[0] and lines[0].startswith("lab.yaml:6: ")
