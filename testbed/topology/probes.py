"""`collectors:` (the reference collector, where it listens) and `probes:` (what runs where).

A probe exports to collectors by name or to a literal `ADDR:PORT`; either way
its router must have a connected subnet or a route towards that address.
"""
from __future__ import annotations

from ipaddress import IPv4Address
from typing import Mapping

from ..schema.fields import TIMEOUT_MAX_S, TIMEOUT_MIN_S, Reader
from .model import NETFLOW_LAB, NFCAPD, REFERENCE, Collector, Export, Node, Probe, frozen_map
from .probekind import KIND_FIELDS, read_kind
from ..schema.yamltree import Y

PROBE_FIELDS = ("active_timeout", "inactive_timeout", "scan_interval", "max_flows",
                "engine_type", "engine_id", "ifindex", "args") + KIND_FIELDS


def read_collectors(r: Reader, spec: Y, nodes: Mapping[str, Node]) -> dict[str, Collector]:
    out: dict[str, Collector] = {}
    where: dict[tuple, str] = {}
    for name, y in (r.mapping(spec, "collectors") or {}).items():
        f = r.fields(y, ("node",), ("address", "port", "kind"), "a collector")
        if r.name(name, y, "collector name") is None or not f or "node" not in f:
            continue
        kind = r.choice(f["kind"], (REFERENCE, NFCAPD), "collector kind") if "kind" in f else REFERENCE
        if kind is None:
            continue
        node = _node(r, f["node"], nodes)
        port = r.port(f["port"], 1) if "port" in f else 2055
        if node is None or port is None:
            continue
        mine = [a.ip for a in node.addresses]
        if "address" in f:
            address = r.address(f["address"])
            if address is not None and address not in mine:
                r.error(f["address"], f"{address} is not an address of {node.name} "
                                      f"({', '.join(map(str, mine)) or 'none'})")
                continue
        elif len(mine) == 1:
            address = mine[0]
        else:
            r.error(y, f"{node.name} has {len(mine) or 'no'} addresses; say which with address:")
            continue
        if address is None:
            continue
        if (address, port) in where:
            r.error(y, f"{address}:{port} is also collector {where[address, port]!r}")
            continue
        where[address, port] = name
        out[name] = Collector(name, node.name, address, port, y.keyline, kind)
    return out


def read_probes(r: Reader, spec: Y, nodes: Mapping[str, Node],
                collectors: Mapping[str, Collector], exporter: str | None = None) -> dict[str, Probe]:
    """`exporter`: run every probe with this kind instead of the file's (--exporter)."""
    out: dict[str, Probe] = {}
    for name, y in (r.mapping(spec, "probes") or {}).items():
        f = r.fields(y, ("node", "interfaces", "collectors"), PROBE_FIELDS, "a probe")
        if r.name(name, y, "probe name") is None or not f:
            continue
        node = _node(r, f["node"], nodes) if "node" in f else None
        if node is not None and not node.is_router:
            r.error(f["node"], f"{node.name} is a {node.kind}; probes run on routers")
            node = None
        ifs = _interfaces(r, f["interfaces"], node) if "interfaces" in f else None
        export = _exports(r, f["collectors"], node, collectors) if "collectors" in f else None
        opts = _options(r, f, node)
        kind = read_kind(r, f, y, exporter)
        if node is None or not ifs or not export or opts is None or kind is None:
            continue
        if exporter is not None and kind["exporter"].name != (f["kind"].value if "kind" in f else NETFLOW_LAB):
            opts.pop("args", None)  # the file's args are its own kind's words
        kinds = {collectors[e.collector].kind for e in export if e.collector}
        if NFCAPD in kinds and REFERENCE not in kinds:
            r.error(f["collectors"], "nfcapd is a second opinion: the probe also needs a reference "
                                     "collector, whose records the checks judge")
            continue
        out[name] = Probe(name, node.name, ifs, export, line=y.keyline, **opts, **kind)
    return out


def _node(r: Reader, y: Y, nodes: Mapping[str, Node]) -> Node | None:
    if isinstance(y.value, str) and y.value in nodes:
        return nodes[y.value]
    r.error(y, f"unknown node {y.value!r}")
    return None


def _interfaces(r: Reader, y: Y, node: Node | None) -> tuple[str, ...] | None:
    names: list[str] = []
    for item in r.one_or_many(y):
        text = r.text(item, "an interface name")
        if text is None or node is None:
            continue
        owner, sep, ifname = text.rpartition(":")
        if sep and owner != node.name:
            r.error(item, f"{text} is not on the probe's router {node.name}")
            continue
        if node.interface(ifname) is None:
            known = ", ".join(i.name for i in node.interfaces)
            r.error(item, f"{node.name} has no interface {ifname!r} (it has: {known})")
        elif ifname in names:
            r.error(item, f"interface {ifname} is listed twice")
        else:
            names.append(ifname)
    if y.is_seq and not y.value:
        r.error(y, "a probe needs at least one interface")
    return tuple(names) or None


def _exports(r: Reader, y: Y, node: Node | None,
             collectors: Mapping[str, Collector]) -> tuple[Export, ...] | None:
    out: list[Export] = []
    for item in r.one_or_many(y):
        text = r.text(item, "a collector name or ADDR:PORT")
        if text is None:
            continue
        if text in collectors:
            c = collectors[text]
            e = Export(c.address, c.port, c.name)
        else:
            host, sep, port = text.rpartition(":")
            try:
                e = Export(IPv4Address(host), int(port))
                if not sep or not 0 < e.port < 65536:
                    raise ValueError
            except ValueError:
                known = f" (collectors: {', '.join(collectors)})" if collectors else ""
                r.error(item, f"{text!r} is neither a collector nor ADDR:PORT{known}")
                continue
        if node is not None and not reachable(node, e.address):
            r.error(item, f"{node.name} has no connected subnet or route towards {e.address}")
        out.append(e)
    if y.is_seq and not y.value:
        r.error(y, "a probe needs at least one collector")
    return tuple(out) or None


def reachable(node: Node, address: IPv4Address) -> bool:
    if any(address in a.network for a in node.addresses):
        return True
    return any(address in rt.prefix for rt in node.routes if rt.type == "unicast")


def _options(r: Reader, f: dict[str, Y], node: Node | None) -> dict | None:
    out: dict = {}
    readers = {  # the probe's limits: v5 times are 32-bit milliseconds
        "active_timeout": lambda y: r.number(y, TIMEOUT_MIN_S, hi=TIMEOUT_MAX_S),
        "inactive_timeout": lambda y: r.number(y, TIMEOUT_MIN_S, hi=TIMEOUT_MAX_S),
        "scan_interval": lambda y: r.number(y, TIMEOUT_MIN_S, hi=TIMEOUT_MAX_S),
        "max_flows": lambda y: r.integer(y, 1, 1 << 30, "a flow count"),
        "engine_type": lambda y: r.integer(y, 0, 255, "an engine type"),
        "engine_id": lambda y: r.integer(y, 0, 255, "an engine id"),
    }
    ok = True
    for key, read in readers.items():
        if key in f:
            out[key] = read(f[key])
            ok = ok and out[key] is not None
    if "ifindex" in f:
        out["ifindex"] = _overrides(r, f["ifindex"], node)
        ok = ok and out["ifindex"] is not None
    if "args" in f:
        items = r.sequence(f["args"], "extra probe arguments")
        bad = [i for i in items if not i.is_scalar or i.value is None]
        for i in bad:  # a word its kind writes itself is refused by probekind
            r.error(i, "expected a command line word")
        out["args"] = tuple(str(i.value) for i in items)
        ok = ok and not bad
    return out if ok else None


def _overrides(r: Reader, y: Y, node: Node | None) -> dict[str, int] | None:
    """`ifindex: {eth1: 7}`: the index the probe exports for an interface."""
    items = r.mapping(y, "interface names to exported ifindexes")
    if items is None:
        return None
    out: dict[str, int] = {}
    for name, value in items.items():
        n = r.integer(value, 1, 0xFFFF, "an exported ifindex")
        if node is not None and node.interface(name) is None:
            r.error(value, f"{node.name} has no interface {name!r}", at_key=True)
            n = None
        if n is None:
            return None
        out[name] = n
    return frozen_map(out)
