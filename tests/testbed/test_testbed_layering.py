"""The testbed's packages import downwards only (the verdict path read forward), and no
module imports another of the project inside a function to dodge a cycle."""
from __future__ import annotations

import ast
from pathlib import Path

TESTBED = Path(__file__).resolve().parents[2] / "testbed"

# Bottom first: a package may import only those before it.
ORDER = ("workdir", "logtail", "pcap", "polled", "forkserver", "hosts", "schema", "collector", "exporters", "faults", "traffic", "expect",
         "topology", "plan", "lab", "report", "run", "replay", "pytest_plugin", "__main__")
# Entry points may import late: a subcommand loads only what it runs (`testbed collect` no probe
# module), the pytest plugin loads nothing until a test asks for a lab, and the HTML page only
# when one is written (matplotlib).
LATE_OK = {"__main__.py", "pytest_plugin.py", "run/cli.py", "run/compare.py", "replay/cli.py", "plan/cli.py",
           "report/artifacts.py"}


def _package(path: Path) -> str:
    rel = path.relative_to(TESTBED)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[ast.stmt, str]]:
    """(import statement, the testbed module it names) for every import of the testbed."""
    rel = path.relative_to(TESTBED.parent).with_suffix("")
    here = list(rel.parts[:-1]) if rel.name != "__init__" else list(rel.parts[:-1])
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = here[:len(here) - node.level + 1] if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            names = [name] if node.module else [f"{name}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        out += [(node, n) for n in names if n == "testbed" or n.startswith("testbed.")]
    return out


def test_packages_import_downwards_only():
    rank = {name: i for i, name in enumerate(ORDER)}
    upward = []
    for path in TESTBED.rglob("*.py"):
        mine = _package(path)
        for node, name in _imports(path):
            theirs = name.split(".")[1] if "." in name else mine
            if theirs != mine and rank[theirs] > rank[mine]:
                upward.append(f"{path.relative_to(TESTBED)}:{node.lineno} imports {name}")
    assert not upward, upward
    assert {_package(p) for p in TESTBED.rglob("*.py")} - {"__init__"} <= set(ORDER)


def test_no_import_inside_a_function_outside_entry_points():
    late = []
    for path in TESTBED.rglob("*.py"):
        if str(path.relative_to(TESTBED)) in LATE_OK:
            continue
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                late += [f"{path.relative_to(TESTBED)}:{n.lineno}" for n in ast.walk(fn)
                         if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not late, late
