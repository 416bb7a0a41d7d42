"""The referee imports nothing from the probe: a probe bug must not be mirrored."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import testbed.collector

SOURCES = sorted(Path(testbed.collector.__file__).parent.glob("*.py"))


def test_no_module_of_the_collector_names_the_probe():
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not [n for n in names if n.split(".")[0] == "probe"], path


def test_loading_the_collector_and_its_cli_loads_no_probe_module():
    code = ("import sys, testbed.__main__, testbed.collector.bench; "
            "sys.exit(any(m.split('.')[0] == 'probe' for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
