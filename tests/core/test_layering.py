"""The probe's modules import forward only: the CLI parses and passes values down."""
from __future__ import annotations

import ast
from pathlib import Path

PROBE = Path(__file__).resolve().parents[2] / "probe"


def _imports(path: Path) -> set[str]:
    """Absolute names of the probe modules `path` imports."""
    package = ".".join(path.relative_to(PROBE.parent).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            out.add(name)
            out.update(f"{name}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_only_the_entry_point_imports_the_cli():
    importers = sorted(str(p.relative_to(PROBE)) for p in PROBE.rglob("*.py")
                       if "probe.cli" in _imports(p))
    assert importers == ["__main__.py"]


def test_the_sender_is_not_live_only():
    assert (PROBE / "sender.py").exists() and not (PROBE / "live" / "sender.py").exists()
    assert "probe.sender" in _imports(PROBE / "output.py")
