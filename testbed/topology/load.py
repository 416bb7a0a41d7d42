"""Read a lab file: YAML -> checked sections -> one frozen `Topology`.

Sections are read in dependency order (network, routes, collectors, probes,
traffic, expect) and every problem is collected; `load` raises them all at
once in `TopologyError`, `validate` returns them.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .checks import read_expect
from .errors import Problem, Problems, TopologyError
from .fields import Reader
from .model import Node, Topology, frozen_map
from .network import read_network
from .probes import read_collectors, read_probes
from .reproduces import read_reproduces
from .refs import Known
from .routes import read_routes
from .steps import read_traffic
from .yamltree import parse

SECTIONS = ("description", "reproduces", "pools", "links", "collectors", "probes", "traffic", "expect")


def load(path: str | Path) -> Topology:
    """The topology in `path`; raises TopologyError listing every problem."""
    path = Path(path)
    return loads(path.read_text(), source=str(path), base_dir=path.parent)


def validate(path: str | Path) -> list[Problem]:
    """Every problem in the file (empty: the file is valid)."""
    try:
        load(path)
    except TopologyError as exc:
        return exc.problems
    return []


def loads(text: str, source: str = "<string>", base_dir: Path | None = None) -> Topology:
    problems = Problems(source)
    topo = _read(text, source, base_dir or Path.cwd(), problems)
    if problems or topo is None:
        raise TopologyError(problems.sorted())
    return topo


def _read(text: str, source: str, base_dir: Path, problems: Problems) -> Topology | None:
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
    probes = read_probes(r, top["probes"], nodes, collectors) if "probes" in top else {}
    topo = replace(topo, probes=frozen_map(probes))
    known = Known(topo, net, base_dir)
    traffic = read_traffic(r, top["traffic"], known) if "traffic" in top else ()
    steps = {y.value["name"].value for y in top.get("traffic") or () if y.is_map  # also the
             and "name" in y.value and isinstance(y.value["name"].value, str)}  # broken ones
    expect = read_expect(r, top["expect"], known, steps) if "expect" in top else ()
    reproduces = read_reproduces(r, top["reproduces"], expect) if "reproduces" in top else None
    return replace(topo, traffic=traffic, expect=expect, reproduces=reproduces)
