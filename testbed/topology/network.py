"""`nodes:`, `links:` and `pools:` -> nodes with their interfaces, and links.

An interface's attributes come from its node (`nodes.r1.interfaces.eth0`),
from its link endpoint, or for addresses from the link's `subnet:`/`pool:`
(endpoint N gets host address N). Saying the same thing in two places is
an error, so the file has one source of truth per fact.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from ipaddress import IPv4Interface, IPv4Network

from ..schema.fields import IFNAME_RE, Reader
from .kernel import netem
from .model import DEFAULT_MTU, HOST, ROUTER, Interface, Link, split_ref
from .pools import Pools, host_addresses
from ..schema.yamltree import Y

MAX_IFINDEX = 2**31 - 1
LINK_SEPARATOR = re.compile(r"\s+(?:--|-|<->)\s+")
TUNNELS = ("vxlan",)  # a link carried between two machines (see docs/scale.md)
SHAPERS = ("htb", "tbf")  # how `bw:` is shaped: both are in every kernel the lab runs on
NETEM = ("delay", "loss", "jitter")  # what only sch_netem can do
MAX_BW = 100_000.0  # Mbit/s


def netem_refusal() -> str:
    """Why a link cannot delay or drop: netem, as this kernel says (its /proc/config.gz)."""
    have = netem()
    why = ("this kernel lacks (CONFIG_NET_SCH_NETEM is not set)" if have is False
           else "the lab does not use" if have else "this kernel may lack (no /proc/config.gz to tell)")
    return f"needs the netem queueing discipline (sch_netem), which {why}; links shape bandwidth only (bw:)"


@dataclass
class _If:  # an interface while it is being put together
    node: str
    name: str
    line: int
    addresses: list[tuple[IPv4Interface, Y]] = field(default_factory=list)
    mtu: int | None = None
    ifindex: int | None = None
    dummy: bool = False
    link: int | None = None
    link_line: int = 0
    set_at: dict[str, int] = field(default_factory=dict)  # attribute -> line it was given on

    def freeze(self) -> Interface:
        return Interface(self.node, self.name, tuple(a for a, _ in self.addresses),
                         self.mtu or DEFAULT_MTU, self.ifindex, self.link, self.line)


@dataclass
class Network:
    kinds: dict[str, str] = field(default_factory=dict)  # node -> ROUTER | HOST
    lines: dict[str, int] = field(default_factory=dict)  # node -> line
    route_specs: dict[str, Y] = field(default_factory=dict)  # node -> its `routes:` value
    servers: dict[str, str] = field(default_factory=dict)  # node -> its `server:`
    ifs: dict[str, _If] = field(default_factory=dict)  # "r1:eth0" -> interface
    links: list[Link] = field(default_factory=list)

    def interfaces_of(self, node: str) -> list[Interface]:
        found = [i.freeze() for i in self.ifs.values() if i.node == node]
        return sorted(found, key=lambda i: _natural(i.name))


def _natural(name: str) -> list:
    """eth2 before eth10."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def read_network(r: Reader, nodes: Y | None, links: Y | None, pools: Y | None) -> Network:
    net = Network()
    if nodes is None:
        return net
    for name, spec in (r.mapping(nodes, "nodes") or {}).items():
        _read_node(r, net, name, spec)
    allocator = Pools(r, pools)
    for item in r.sequence(links, "links") if links is not None else []:
        _read_link(r, net, item, allocator)
    for i in net.ifs.values():
        if not i.link_line and not i.dummy:
            r.problems.add(i.line, f"nodes.{i.node}.interfaces.{i.name}",
                           f"{i.node}:{i.name} is not connected by any link "
                           "(add it to links:, or set type: dummy)")
    _check_addresses(r, net)
    _check_ifindexes(r, net)
    return net


def _read_node(r: Reader, net: Network, name: str, spec: Y) -> None:
    if r.name(name, spec, "node name") is None:
        return
    f = r.fields(spec, ("kind",), ("interfaces", "routes", "server"), "a node")
    if f is None:
        return
    kind = r.choice(f["kind"], (ROUTER, HOST), "node kind") if "kind" in f else None
    net.kinds[name] = kind or HOST
    net.lines[name] = spec.keyline
    if "server" in f and r.name(f["server"], f["server"], "server name") is not None:
        net.servers[name] = f["server"].value
    if "routes" in f:
        net.route_specs[name] = f["routes"]
    for ifname, ispec in (r.mapping(f["interfaces"], "interfaces") or {}).items() \
            if "interfaces" in f else ():
        if not _good_ifname(r, ifname, ispec):
            continue
        i = net.ifs[f"{name}:{ifname}"] = _If(name, ifname, ispec.keyline)
        if ispec.value is None:
            continue
        if isinstance(ispec.value, str) or ispec.is_seq:  # `eth0: 10.0.1.1/24` shorthand
            _set_addresses(r, i, ispec)
            continue
        g = r.fields(ispec, (), ("address", "mtu", "ifindex", "type"), "an interface")
        if g:
            _set_attributes(r, i, g)
            if "type" in g:
                i.dummy = r.choice(g["type"], ("veth", "dummy"), "interface type") == "dummy"


def _good_ifname(r: Reader, ifname: str, where: Y) -> bool:
    if IFNAME_RE.match(ifname) and ifname != "lo":
        return True
    r.error(where, f"bad interface name {ifname!r}: at most 15 letters, digits, '_', '-', '.'"
                   " (and not 'lo')", at_key=True)
    return False


def _set_attributes(r: Reader, i: _If, g: dict[str, Y]) -> None:
    if "address" in g:
        _set_addresses(r, i, g["address"])
    for key in ("mtu", "ifindex"):
        if key not in g:
            continue
        if key in i.set_at:
            r.error(g[key], f"{key} of {i.node}:{i.name} is also given on line {i.set_at[key]}",
                    at_key=True)
            continue
        i.set_at[key] = g[key].line
        if key == "mtu":
            i.mtu = r.integer(g[key], 68, 65535, "an MTU")
        else:
            i.ifindex = r.integer(g[key], 2, MAX_IFINDEX, "an ifindex (1 is lo)")


def _set_addresses(r: Reader, i: _If, y: Y) -> None:
    if "address" in i.set_at:
        r.error(y, f"address of {i.node}:{i.name} is also given on line {i.set_at['address']}")
        return
    i.set_at["address"] = y.line
    for item in r.one_or_many(y):
        a = r.interface_address(item)
        if a is not None:
            i.addresses.append((a, item))


def _read_link(r: Reader, net: Network, item: Y, pools: Pools) -> None:
    ends: list[Y] = []
    attrs: dict[str, Y] = {}
    if isinstance(item.value, str):  # "r1:eth0 -- r2:eth0"
        parts = LINK_SEPARATOR.split(item.value.strip())
        ends = [Y(p, item.line, item.path) for p in parts]
        if len(parts) < 2:
            r.error(item, f"expected 'node:if -- node:if', got {item.value!r}")
            return
    elif item.is_seq:
        ends = list(item)
    else:
        f = r.fields(item, ("endpoints",), ("subnet", "pool", "mtu", "tunnel", "bw", "shaper") + NETEM, "a link")
        if not f or "endpoints" not in f:
            return
        ends, attrs = r.sequence(f["endpoints"], "endpoints"), f
    if len(ends) < 2:
        r.error(item, "a link needs at least two endpoints")
        return
    members: list[_If] = []
    for end in ends:
        i = _read_endpoint(r, net, item, end)
        if i is not None:
            members.append(i)
    subnet = None
    if "subnet" in attrs and "pool" in attrs:
        r.error(attrs["pool"], "give either subnet: or pool:, not both", at_key=True)
    elif "subnet" in attrs:
        subnet = r.prefix(attrs["subnet"])
    pool = None
    if "pool" in attrs and "subnet" not in attrs:
        pool = r.text(attrs["pool"], "a pool name")
        subnet = pool and pools.allocate(attrs["pool"], pool, len(ends))
    mtu = r.integer(attrs["mtu"], 68, 65535, "an MTU") if "mtu" in attrs else None
    for key in NETEM:  # Mininet's TCLink takes them; the lab cannot honour them
        if key in attrs:
            r.error(attrs[key], f"{key}: {netem_refusal()}", at_key=True)
    bw = r.number(attrs["bw"], 0, positive=True, what="a rate in Mbit/s", hi=MAX_BW) if "bw" in attrs else None
    shaper = r.choice(attrs["shaper"], SHAPERS, "shaper") if "shaper" in attrs else "htb"
    if "shaper" in attrs and "bw" not in attrs:
        r.error(attrs["shaper"], "shaper: shapes a link's bw:, which this link does not give", at_key=True)
    tunnel = r.choice(attrs["tunnel"], TUNNELS, "tunnel") if "tunnel" in attrs else None
    if tunnel and len(ends) != 2:
        r.error(attrs["tunnel"], "a tunnel joins two endpoints", at_key=True)
        tunnel = None
    if subnet is not None:
        _number(r, members, subnet, attrs.get("subnet") or attrs["pool"])
    for i in members:
        if mtu is not None and i.mtu is None:
            i.mtu = mtu
    if len(members) == len(ends):
        net.links.append(Link(len(net.links), tuple(f"{i.node}:{i.name}" for i in members),
                              subnet, item.line, tunnel, pool if "pool" in attrs else None, bw, shaper or "htb"))
        for i in members:
            i.link = net.links[-1].index


def _number(r: Reader, members: list[_If], subnet: IPv4Network, where: Y) -> None:
    """Endpoint N gets host N of the subnet, unless it has its own address there."""
    hosts = host_addresses(subnet, len(members))
    if len(hosts) < len(members):
        r.error(where, f"{subnet} has {len(hosts)} host addresses for {len(members)} endpoints")
        return
    for host, i in zip(hosts, members):
        if "address" in i.set_at:
            for a, y in i.addresses:
                if a.ip not in subnet or a.network.prefixlen != subnet.prefixlen:
                    r.error(y, f"{a} is not in this link's subnet {subnet}")
            continue
        i.addresses.append((IPv4Interface((int(host), subnet.prefixlen)), where))


def _read_endpoint(r: Reader, net: Network, link: Y, end: Y) -> _If | None:
    attrs: dict[str, Y] = {}
    ref_y = end
    if end.is_map:
        f = r.fields(end, ("interface",), ("address", "mtu", "ifindex"), "an endpoint")
        if not f or "interface" not in f:
            return None
        ref_y, attrs = f["interface"], f
    ref = r.text(ref_y, "an interface like r1:eth0")
    if ref is None:
        return None
    node, ifname = split_ref(ref)
    if not ifname:
        r.error(ref_y, f"expected an interface like r1:eth0, got {ref!r}")
        return None
    if node not in net.kinds:
        r.error(ref_y, f"unknown node {node!r}")
        return None
    if not _good_ifname(r, ifname, ref_y):
        return None
    i = net.ifs.get(ref)
    if i is None:
        i = net.ifs[ref] = _If(node, ifname, ref_y.line)
    if i.dummy:
        r.error(ref_y, f"{ref} is a dummy interface; it cannot be on a link")
        return None
    if i.link is not None or i.link_line:
        r.error(ref_y, f"{ref} is already on the link on line {i.link_line}")
        return None
    i.link_line = link.line
    _set_attributes(r, i, attrs)
    return i


def _check_addresses(r: Reader, net: Network) -> None:
    first: dict = {}
    for i in net.ifs.values():
        for a, y in i.addresses:
            if a.ip in first:
                other, line = first[a.ip]
                r.error(y, f"address {a.ip} of {i.node}:{i.name} is also used by {other} "
                           f"(line {line})")
            else:
                first[a.ip] = (f"{i.node}:{i.name}", y.line)
    by_node: dict[str, list] = {}
    for i in net.ifs.values():
        for a, y in i.addresses:
            for other_if, b in by_node.get(i.node, []):
                if other_if != i.name and a.network.overlaps(b.network):
                    r.error(y, f"{a} on {i.node}:{i.name} overlaps {b} on {i.node}:{other_if}")
            by_node.setdefault(i.node, []).append((i.name, a))
    for link in net.links:
        numbered = [net.ifs[e] for e in link.endpoints if net.ifs[e].addresses]
        for i in numbered[1:]:
            if not any(a.network == b.network for a, _ in i.addresses for b, _ in numbered[0].addresses):
                y = i.addresses[0][1]
                r.error(y, f"{i.node}:{i.name} ({i.addresses[0][0]}) shares no subnet with "
                           f"{numbered[0].node}:{numbered[0].name} ({numbered[0].addresses[0][0]}) "
                           "on the same link")


def _check_ifindexes(r: Reader, net: Network) -> None:
    seen: dict[tuple[str, int], str] = {}
    for i in net.ifs.values():
        if i.ifindex is None:
            continue
        key = (i.node, i.ifindex)
        if key in seen:
            r.problems.add(i.set_at["ifindex"], f"nodes.{i.node}",
                           f"ifindex {i.ifindex} is used twice on {i.node} ({seen[key]} and {i.name})")
        seen[key] = i.name
