"""Read a lab file: YAML -> checked sections -> one frozen `Topology`.

Sections are read in dependency order (network, routes, collectors, probes,
traffic, expect) and every problem is collected; `load` raises them all at
once in `TopologyError`, `validate` returns them. Traffic steps and checks
are read by their kinds' registries (traffic/steps/, expect/checks/).

`read_lab` also returns the `Known` names of the file, so that steps and
checks given later as plain data (the pytest fixture) are read against the
same lab without reading the file again.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ..expect.checks import CHECKS
from ..schema.errors import Problem, Problems, TopologyError
from ..schema.fields import Reader
from ..schema.yamltree import Y, parse, tree
from ..traffic.step import LabState
from ..traffic.steps import STEPS
from .model import Node, Topology, frozen_map
from .network import read_network
from .probes import read_collectors, read_probes
from .refs import Known
from .reproduces import read_reproduces
from .routes import read_routes

SECTIONS = ("description", "reproduces", "pools", "links", "collectors", "probes", "traffic", "expect")


def load(path: str | Path, exporter: str | None = None) -> Topology:
    """The topology in `path`; raises TopologyError listing every problem.
    `exporter`: every probe runs with this kind (`--exporter`), checked as if the file said so."""
    path = Path(path)
    text = path.read_text(encoding="utf-8", errors="surrogateescape")  # bad bytes: yamltree says where
    return loads(text, source=str(path), base_dir=path.parent, exporter=exporter)


def validate(path: str | Path) -> list[Problem]:
    """Every problem in the file (empty: the file is valid)."""
    try:
        load(path)
    except TopologyError as exc:
        return exc.problems
    return []


def loads(text: str, source: str = "<string>", base_dir: Path | None = None,
          exporter: str | None = None) -> Topology:
    return read_lab(text, source, base_dir, exporter)[0]


def read_lab(text: str, source: str = "<string>", base_dir: Path | None = None,
             exporter: str | None = None) -> tuple[Topology, Known]:
    problems = Problems(source)
    got = _read(text, source, base_dir or Path.cwd(), problems, exporter)
    if problems or got is None:
        raise TopologyError(problems.sorted())
    return got


def read_steps(known: Known, steps: list[Any], first_index: int, source: str) -> tuple:
    """Steps given as plain data (mappings as in `traffic:`), read against a loaded lab."""
    return _read_more(known, steps, first_index, source, "traffic", STEPS)


def read_checks(known: Known, checks: list[Any], source: str) -> tuple:
    """Checks given as plain data (mappings as in `expect:`), read against a loaded lab."""
    return _read_more(known, checks, 0, source, "expect", CHECKS)


def _read_more(known: Known, items: list[Any], first: int, source: str, path: str, kinds) -> tuple:
    problems = Problems(source)
    r = Reader(problems)
    out = []
    for i, item in enumerate(items):
        entry = kinds.read(r, known, first + i, tree(item, f"{path}[{first + i}]"))
        if entry is not None:
            out.append(entry)
    if problems:
        raise TopologyError(problems.sorted())
    return tuple(out)


def _check_order(problems: Problems, traffic: tuple) -> None:
    """Steps that cannot run where they stand (a stopped probe's control socket...)."""
    state = LabState()
    for step in traffic:
        why = step.check_order(state)
        if why:
            problems.add(step.line, f"traffic[{step.index}]", why)


def _step_names(y: Y | None) -> frozenset[str]:
    """Names of the traffic steps, also of broken ones (checks may name them)."""
    return frozenset(i.value["name"].value for i in (y or ()) if i.is_map and "name" in i.value
                     and isinstance(i.value["name"].value, str))


def _read(text: str, source: str, base_dir: Path, problems: Problems,
          exporter: str | None = None) -> tuple[Topology, Known] | None:
    root = parse(text, problems)
    if root is None:
        return None
    r = Reader(problems)
    top = r.fields(root, ("name", "nodes"), SECTIONS, "a lab file")
    if top is None:
        return None
    name = r.name(top["name"], top["name"], "lab name") if "name" in top else None
    description = r.text(top["description"], "a description") if "description" in top else ""
    net = read_network(r, top.get("nodes"), top.get("links"), top.get("pools"))
    nodes = {}
    for n in net.kinds:
        spec = net.route_specs.get(n)
        routes = read_routes(r, net, n, spec) if spec is not None else []
        nodes[n] = Node(n, net.kinds[n], tuple(net.interfaces_of(n)), tuple(routes), net.lines[n])
    topo = Topology(name or "?", source, frozen_map(nodes), tuple(net.links),
                    description=description or "")
    collectors = read_collectors(r, top["collectors"], nodes) if "collectors" in top else {}
    topo = replace(topo, collectors=frozen_map(collectors))
    probes = read_probes(r, top["probes"], nodes, collectors, exporter) if "probes" in top else {}
    topo = replace(topo, probes=frozen_map(probes))
    known = Known(topo, net, base_dir, _step_names(top.get("traffic")))
    traffic = STEPS.read_list(r, top["traffic"], known, "traffic steps", True) if "traffic" in top else ()
    _check_order(problems, traffic)
    expect = CHECKS.read_list(r, top["expect"], known, "checks", False) if "expect" in top else ()
    reproduces = read_reproduces(r, top["reproduces"], expect) if "reproduces" in top else None
    return replace(topo, traffic=traffic, expect=expect, reproduces=reproduces), known
