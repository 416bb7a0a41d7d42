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


# Imports inside functions: each one here is a CLI entry point loading only the
# mode it runs, or a heavy optional module; none dodges an import cycle.
LAZY = {
    ("cli.py", "main"): {"probe.live.daemon", "probe.live.ctl", "probe.offline_cli"},
    ("live/kernel_routes.py", "__init__"): {"pyroute2"},
    ("routes.py", "parse_static_route"): {"netaddr"},
}


def _lazy_imports() -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for path in PROBE.rglob("*.py"):
        package = ".".join(path.relative_to(PROBE.parent).with_suffix("").parts[:-1])
        for fn in ast.walk(ast.parse(path.read_text())):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom):
                    base = package.split(".")[: len(package.split(".")) - node.level + 1] \
                        if node.level else []
                    name = ".".join(base + ([node.module] if node.module else []))
                elif isinstance(node, ast.Import):
                    name = node.names[0].name
                else:
                    continue
                out.setdefault((str(path.relative_to(PROBE)), fn.name), set()).add(name)
    return out


def test_no_function_level_imports_but_the_known_lazy_ones():
    assert _lazy_imports() == LAZY


def test_no_import_cycle():
    modules = {".".join(p.relative_to(PROBE.parent).with_suffix("").parts): p
               for p in PROBE.rglob("*.py")}
    modules = {name.removesuffix(".__init__"): p for name, p in modules.items()}
    graph = {name: {m for m in _imports(p) if m in modules and m != name}
             for name, p in modules.items()}
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dep in sorted(graph[name]):
            if dep == name.rpartition(".")[0]:
                continue  # a package's __init__ (imported by its modules' loading)
            assert state.get(dep) != 1, "import cycle: " + " -> ".join(path + [dep])
            if dep not in state:
                visit(dep, path + [dep])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
