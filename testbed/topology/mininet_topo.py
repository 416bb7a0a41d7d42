"""A Mininet `Topo` as a lab: `python -m testbed run --custom mytopo.py --topo NAME --expect
checks.yaml`, and `from_topo(MyTopo, expect=...)` from Python (`Lab.from_topo` builds it).

Mininet's habits, kept: `addHost(name, ip=, defaultRoute=)` (and a `routes=[...]` param in the
lab's route syntax); a router is a host whose class turns IP forwarding on (Mininet's
LinuxRouter: `sysctl net.ipv4.ip_forward=1` in its `config`); `addLink(a, b, intfName1=,
intfName2=, params1={'ip': ...}, params2=, bw=, use_tbf=)`; interfaces are named as Mininet
names them (`h1-eth0`); a node's `ip` (or Mininet's automatic 10.0.0.N/8, hosts in Mininet's
order) goes on its first interface, as Mininet sets it last; switches become bridged
segments (Linux bridges: no OVS, no controller). `delay`/`loss` are passed on, and refused
by the lab's own reader with the reason.

The lab is written as lab-file text, one line per node, link and segment endpoint, then the
expect file (collectors, probes, traffic, expect) after it, and read by the same loader: every
problem names a `file:line` - the line of the addHost/addLink call in the Python file (found
on the stack when the Topo is built), or the expect file's own line.
"""
from __future__ import annotations

import inspect
import json
import os
import re
import runpy
import sys
import threading
from dataclasses import dataclass, field, fields
from ipaddress import IPv4Interface
from pathlib import Path
from typing import Any, Callable, Mapping

import mininet
import yaml
from mininet.topo import Topo

from ..schema.errors import Problem, TopologyError
from .load import read_lab
from .model import Topology

IP_BASE = IPv4Interface("10.0.0.0/8")  # Mininet's default ipBase
NODE_KEYS = {"ip", "defaultRoute", "routes", "cls", "inNamespace"}
LINK_KEYS = {"intfName1", "intfName2", "params1", "params2", "bw", "use_htb", "use_tbf", "delay", "loss",
             "jitter", "cls", "node1", "node2", "port1", "port2", "key", "mtu"}
SECTIONS = ("name", "description", "pools", "collectors", "probes", "traffic", "expect")
_PATCH = threading.Lock()


@dataclass(frozen=True)
class Call:
    """One addNode/addLink of the Topo: its arguments and where it was made."""

    what: str  # "node" | "link"
    name: str  # a node's name; a link: "n1--n2"
    opts: dict
    where: tuple[str, int]  # (file, line) of the call in the user's code


@dataclass(frozen=True)
class ConvertedTopology(Topology):
    """A Topology whose lines are those of the lab text written from the Topo; `where`
    names the Python (or expect) file and line each came from."""

    origins: Mapping[int, str] = field(default_factory=dict)

    def where(self, line: int) -> str:
        return self.origins.get(line, f"{self.source}:{line}")

    def at(self, line: int) -> str:
        """Its lines are those of a written lab text: name the Python or expect line instead."""
        return self.where(line)


# -- reading a Topo -----------------------------------------------------------
def load_custom(path: str | os.PathLike, topo: str) -> Callable[[], Any]:
    """The constructor `--topo NAME[,ARG...]` names in `--custom FILE` (its `topos` dict, as
    Mininet's --custom reads it, or a Topo subclass of that name); arguments as Mininet's
    --topo takes them (ints, floats, strings, key=value)."""
    path = Path(path)
    namespace = runpy.run_path(str(path), run_name="__custom__")
    name, *words = topo.split(",")
    topos = namespace.get("topos") or {}
    make = topos.get(name) or namespace.get(name)
    if make is None:
        known = sorted(topos) or sorted(k for k, v in namespace.items() if inspect.isclass(v) and _is_topo(v))
        raise TopologyError([Problem(str(path), 1, "", f"no topo {name!r} in {path.name} "
                                                       f"(it has: {', '.join(known) or 'none'})")])
    args = [_value(w) for w in words if "=" not in w]
    kwargs = {k: _value(v) for k, _, v in (w.partition("=") for w in words if "=" in w)}
    return lambda: make(*args, **kwargs)


def _value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _is_topo(cls) -> bool:
    return issubclass(cls, Topo)


def record(make: Callable[[], Any]) -> tuple[Any, list[Call]]:
    """Build the Topo with `make()`, noting each addNode/addLink and the line that made it."""
    calls: list[Call] = []
    add_node, add_link = Topo.addNode, Topo.addLink

    def addNode(self, name, **opts):  # noqa: N802 - Mininet's names
        calls.append(Call("node", name, dict(opts), _caller()))
        return add_node(self, name, **opts)

    def addLink(self, node1, node2, port1=None, port2=None, key=None, **opts):  # noqa: N802
        key = add_link(self, node1, node2, port1, port2, key, **opts)
        calls.append(Call("link", f"{node1}--{node2}", dict(self.linkInfo(node1, node2, key)), _caller()))
        return key

    with _PATCH:
        Topo.addNode, Topo.addLink = addNode, addLink
        try:
            topo = make()
        finally:
            Topo.addNode, Topo.addLink = add_node, add_link
    return topo, calls


def _caller() -> tuple[str, int]:
    """The first frame outside Mininet and this module: the user's addHost/addLink call."""
    skip = (os.path.dirname(mininet.__file__), __file__)
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith(skip[0]) and name != skip[1]:
            return name, frame.f_lineno
        frame = frame.f_back
    return "<topo>", 0


def calls_of(topo) -> list[Call]:
    """The calls of a Topo already built (no stack to read): each at its class's build()."""
    try:
        lines, first = inspect.getsourcelines(type(topo).build)
        where = (inspect.getsourcefile(type(topo).build) or "<topo>", first)
    except (OSError, TypeError):
        where = ("<topo>", 0)
    out = [Call("node", n, dict(topo.nodeInfo(n)), where) for n in topo.nodes(sort=False)]
    out += [Call("link", f"{a}--{b}", dict(info), where) for a, b, info in topo.iterLinks(withInfo=True)]
    return out


# -- writing the lab text -------------------------------------------------------
@dataclass
class _Text:
    lines: list[str] = field(default_factory=list)
    origins: dict[int, str] = field(default_factory=dict)

    def add(self, line: str, where: tuple[str, int] | None = None) -> None:
        self.lines.append(line)
        if where is not None:
            self.origins[len(self.lines)] = f"{_rel(where[0])}:{where[1]}"


def _rel(path: str) -> str:
    """As the user typed it, more or less: relative below the current directory, else absolute."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def _is_router(opts: dict) -> bool:
    """A host whose class turns IP forwarding on (Mininet's LinuxRouter does in config):
    a string of its methods' code names ip_forward (no source file needed)."""
    cls = opts.get("cls")
    for c in getattr(cls, "__mro__", ()):
        if c.__module__.startswith("mininet.") or c is object:
            continue
        for f in vars(c).values():
            if inspect.isfunction(f) and any("ip_forward" in s for s in _strings(f.__code__)):
                return True
    return False


def _strings(code) -> list[str]:
    out = []
    for const in code.co_consts:
        if isinstance(const, str):
            out.append(const)
        elif inspect.iscode(const):
            out += _strings(const)
    return out


def _ips(value) -> list[str]:
    return [str(v) for v in (value if isinstance(value, (list, tuple)) else [value]) if v]


def _route_words(opts: dict) -> list[str]:
    out = []
    default = opts.get("defaultRoute")
    if default:
        words = str(default).split()
        out.append("default " + (" ".join(words) if words[0] in ("via", "dev") else f"dev {words[0]}"))
    out += [str(r) for r in opts.get("routes") or ()]
    return out


def lab_text(calls: list[Call], host_order: list[str], name: str, problems: list[Problem]) -> _Text:
    nodes = {c.name: c for c in calls if c.what == "node"}
    links = [c for c in calls if c.what == "link"]
    switches = {n for n, c in nodes.items() if c.opts.get("isSwitch")}
    # every interface: (node, ifname) -> [address, origin, port]
    ifaces: dict[tuple[str, str], dict] = {}
    ends: list[tuple[Call, list]] = []
    for c in links:
        o = c.opts
        unknown = sorted(set(o) - LINK_KEYS)
        if unknown:
            problems.append(Problem(_rel(c.where[0]), c.where[1], f"links {c.name}",
                                    f"option {unknown[0]}= is not something the lab can do (it takes: intfName1/2, "
                                    "params1/2 with ip, bw, use_tbf; delay and loss are refused with the reason)"))
        mine = []
        for k in (1, 2):
            node, port = o[f"node{k}"], o[f"port{k}"]
            if node in switches:
                mine.append((node, None))
                continue
            ifname = o.get(f"intfName{k}") or f"{node}-eth{port}"
            params = o.get(f"params{k}") or {}
            bad = sorted(set(params) - {"ip"})
            if bad:
                problems.append(Problem(_rel(c.where[0]), c.where[1], f"links {c.name}",
                                        f"params{k}: {bad[0]} is not something the lab sets (only ip)"))
            ifaces[node, ifname] = {"port": port, "ips": _ips(params.get("ip")), "where": c.where}
            mine.append((node, ifname))
        ends.append((c, mine))
    # a node's ip (or Mininet's next automatic one) goes on its first interface, set last
    auto = {n: IPv4Interface((int(IP_BASE.ip) + i, IP_BASE.network.prefixlen))  # from 10.0.0.1
            for i, n in enumerate((h for h in host_order if h not in switches), 1) if "ip" not in nodes[n].opts}
    own: dict[str, tuple[str, str]] = {}  # node -> (its first interface, the address it gets there)
    for n, c in nodes.items():
        if n in switches:
            continue
        unknown = sorted(set(c.opts) - NODE_KEYS)
        if unknown:
            problems.append(Problem(_rel(c.where[0]), c.where[1], f"nodes.{n}",
                                    f"option {unknown[0]}= is not something the lab sets (it takes: ip, "
                                    "defaultRoute, routes, and cls for a router)"))
        mine = sorted((v["port"], i) for (node, i), v in ifaces.items() if node == n)
        ip = c.opts.get("ip", str(auto.get(n, "")))
        if mine and ip:
            first = mine[0][1]
            own[n] = (first, str(ip))
            ifaces[n, first]["ips"] = []  # Mininet's configDefault sets the node's ip over the link's
    text = _Text()
    text.add(f"name: {json.dumps(name)}")
    text.add("nodes:")
    for n, c in nodes.items():
        if n in switches:
            continue
        entry: dict = {"kind": "router" if _is_router(c.opts) else "host"}
        if n in own:
            entry["interfaces"] = {own[n][0]: own[n][1]}
        routes = _route_words(c.opts)
        if routes:
            entry["routes"] = routes
        text.add(f"  {json.dumps(n)}: {json.dumps(entry)}", c.where)
    text.add("links:")
    segments = _segments(ends, switches, nodes)
    for c, mine in ends:
        if any(node in switches for node, _ in mine):
            continue
        endpoints = [_endpoint(node, i, ifaces) for node, i in mine]
        text.add(f"  - {json.dumps({'endpoints': endpoints, **_shaping(c.opts)})}", c.where)
    for switch, members in segments:
        text.add("  - endpoints:", nodes[switch].where)
        for c, node, i in members:
            text.add(f"    - {json.dumps(_endpoint(node, i, ifaces))}", c.where)
        shaped = [(c, _shaping(c.opts)) for c, _, _ in members if _shaping(c.opts)]
        if shaped:
            c, shaping = shaped[0]
            for key, value in shaping.items():
                text.add(f"    {key}: {json.dumps(value)}", c.where)
    return text


def _endpoint(node: str, ifname: str, ifaces: dict):
    ips = ifaces[node, ifname]["ips"]
    ref = f"{node}:{ifname}"
    return {"interface": ref, "address": ips if len(ips) > 1 else ips[0]} if ips else ref


def _shaping(opts: dict) -> dict:
    out = {k: opts[k] for k in ("bw", "delay", "loss", "jitter", "mtu") if opts.get(k) is not None}
    if opts.get("use_tbf") and "bw" in out:
        out["shaper"] = "tbf"
    return out


def _segments(ends, switches: set[str], nodes: dict) -> list[tuple[str, list]]:
    """Switches joined by links are one bridged segment: (its first switch, [(link call,
    node, interface) of each endpoint that is not a switch])."""
    parent = {s: s for s in switches}

    def top(s):
        while parent[s] != s:
            s = parent[s]
        return s
    for c, mine in ends:
        sw = [node for node, _ in mine if node in switches]
        if len(sw) == 2:
            parent[top(sw[1])] = top(sw[0])
    groups: dict[str, list] = {}
    for c, mine in ends:
        sw = [node for node, _ in mine if node in switches]
        if len(sw) == 1:
            node, i = next((n, i) for n, i in mine if n not in switches)
            groups.setdefault(top(sw[0]), []).append((c, node, i))
    order = [n for n in nodes if n in groups]
    return [(s, groups[s]) for s in order]


# -- the lab --------------------------------------------------------------------
def read_topo(make_or_topo, expect: str | os.PathLike | Mapping | None = None, name: str | None = None,
              exporter: str | None = None):
    """(ConvertedTopology, Known) of a Topo: a Topo subclass or a callable that makes one (its
    calls are recorded with their lines), or a Topo already built; `expect`: a lab-file
    fragment (collectors, probes, traffic, expect), as a file or a mapping."""
    if callable(make_or_topo) and not hasattr(make_or_topo, "iterLinks"):
        topo, calls = record(make_or_topo)
    else:
        topo, calls = make_or_topo, calls_of(make_or_topo)
    problems: list[Problem] = []
    extra, extra_source, base_dir = _expect_text(expect)
    keys = _top_keys(extra)
    for key in ("nodes", "links"):
        if key in keys:
            problems.append(Problem(extra_source, keys[key], key,
                                    f"{key} come from the Topo: give them there (addHost/addLink)"))
    lab_name = name or (None if "name" in keys else type(topo).__name__)
    text = lab_text(calls, list(topo.hosts(sort=True)), lab_name or "topo", problems)
    if "name" in keys:
        text.lines[0] = text.lines[0].replace("name:", "# name:", 1)  # the expect file names it
    if problems:
        raise TopologyError(sorted(problems, key=lambda p: (p.file, p.line)))
    offset = len(text.lines)
    for k, line in enumerate(extra.splitlines(), 1):
        text.add(line)
        text.origins[offset + k] = f"{extra_source}:{k}"
    source = f"{_rel(calls[0].where[0]) if calls else '<topo>'} (Mininet topo {lab_name or ''})".replace(" )", ")")
    joined = "\n".join(text.lines) + "\n"
    try:
        lab, known = read_lab(joined, source=source, base_dir=base_dir, exporter=exporter)
    except TopologyError as exc:
        raise TopologyError([mapped(p, text.origins) for p in exc.problems]) from None
    converted = ConvertedTopology(**{f.name: getattr(lab, f.name) for f in fields(Topology)},
                                  origins=dict(text.origins))
    return converted, known


def from_topo(make_or_topo, expect=None, name: str | None = None, exporter: str | None = None) -> ConvertedTopology:
    """The lab of a Mininet Topo (see read_topo); TopologyError names the Python lines."""
    return read_topo(make_or_topo, expect, name, exporter)[0]


def _expect_text(expect) -> tuple[str, str, Path]:
    if expect is None:
        return "", "<expect>", Path.cwd()
    if isinstance(expect, Mapping):
        return yaml.safe_dump(dict(expect), sort_keys=False), "<expect>", Path.cwd()
    path = Path(expect)
    return path.read_text(encoding="utf-8", errors="surrogateescape"), _rel(str(path)), path.parent


def _top_keys(text: str) -> dict[str, int]:
    """Top-level keys of a YAML text and their lines (a cheap look: the loader reads it properly)."""
    return {m.group(1): text[:m.start()].count("\n") + 1 for m in re.finditer(r"^([A-Za-z_]\w*)\s*:", text, re.M)}


_LINE = re.compile(r"\bline (\d+)\b")


def mapped(p: Problem, origins: dict[int, str]) -> Problem:
    """A problem of the lab text at the Python or expect line it came from."""
    where = origins.get(p.line)
    message = _LINE.sub(lambda m: origins.get(int(m.group(1)), m.group(0)), p.message)
    if where is None:
        return Problem(p.file, p.line, p.path, message)
    file, _, line = where.rpartition(":")
    return Problem(file, int(line), p.path, message)
