"""The validated lab: frozen values the lab builder, traffic and checks read.

Interfaces are named `node:ifname` (an "interface ref") everywhere a file or a
report mentions one. Addresses are `ipaddress` IPv4 objects.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from types import MappingProxyType
from typing import Mapping

from probe.constants import ACTIVE_MS, INACTIVE_MS

from ..exporters import Kind, KindOptions, netflow_lab

ROUTER, HOST = "router", "host"
DEFAULT_MTU = 1500


def split_ref(ref: str) -> tuple[str, str]:
    """'r1:eth0' -> ('r1', 'eth0')."""
    node, _, ifname = ref.partition(":")
    return node, ifname


@dataclass(frozen=True)
class Interface:
    node: str
    name: str
    addresses: tuple[IPv4Interface, ...] = ()
    mtu: int = DEFAULT_MTU
    ifindex: int | None = None  # pinned by the file; None: the lab plans one
    link: int | None = None  # index into Topology.links; None for a dummy
    line: int = 0

    @property
    def ref(self) -> str:
        return f"{self.node}:{self.name}"


@dataclass(frozen=True)
class Route:
    prefix: IPv4Network
    type: str = "unicast"  # unicast | blackhole | unreachable | prohibit
    via: IPv4Address | None = None
    dev: str | None = None
    via_node: str | None = None  # set when the file said `via r1`
    metric: int | None = None
    line: int = 0

    def iproute_args(self) -> list[str]:
        """Arguments after `ip route add|replace|del`."""
        args = [] if self.type == "unicast" else [self.type]
        args.append(str(self.prefix))
        if self.via is not None:
            args += ["via", str(self.via)]
        if self.dev is not None:
            args += ["dev", self.dev]
        if self.metric is not None:
            args += ["metric", str(self.metric)]
        return args

    def __str__(self) -> str:
        return " ".join(self.iproute_args())


@dataclass(frozen=True)
class Node:
    name: str
    kind: str  # ROUTER (IPv4 forwarding on) or HOST
    interfaces: tuple[Interface, ...] = ()
    routes: tuple[Route, ...] = ()
    line: int = 0
    server: str | None = None  # `server:` (a name in `servers:`); None: placed by the rule

    @property
    def is_router(self) -> bool:
        return self.kind == ROUTER

    def interface(self, name: str) -> Interface | None:
        return next((i for i in self.interfaces if i.name == name), None)

    @property
    def addresses(self) -> tuple[IPv4Interface, ...]:
        return tuple(a for i in self.interfaces for a in i.addresses)


@dataclass(frozen=True)
class Link:
    index: int
    endpoints: tuple[str, ...]  # interface refs; more than two: a bridged segment
    subnet: IPv4Network | None = None
    line: int = 0
    tunnel: str | None = None  # "vxlan": carried over a tunnel, as between two machines
    pool: str | None = None  # the pool its subnet was taken from (validate --explain says so)
    bw: float | None = None  # Mbit/s each endpoint may send, shaped with `shaper` (tc); None: unshaped
    shaper: str = "htb"  # htb (as Mininet's TCLink) | tbf

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(split_ref(r)[0] for r in self.endpoints)

    @property
    def is_segment(self) -> bool:
        return len(self.endpoints) > 2


REFERENCE, NFCAPD = "reference", "nfcapd"  # collector kinds: the referee, nfdump's nfcapd beside it
NETFLOW_LAB = netflow_lab.name  # the default probe kind: this project's probe


@dataclass(frozen=True)
class Collector:
    name: str
    node: str
    address: IPv4Address
    port: int = 2055
    line: int = 0
    kind: str = REFERENCE

    def __str__(self) -> str:
        return f"{self.address}:{self.port}"


@dataclass(frozen=True)
class Export:
    """One destination of a probe's datagrams."""

    address: IPv4Address
    port: int
    collector: str | None = None  # the collector's name when the file used one

    def __str__(self) -> str:
        return f"{self.address}:{self.port}"


@dataclass(frozen=True)
class Probe:
    name: str
    node: str
    interfaces: tuple[str, ...]  # interface names on `node`
    export: tuple[Export, ...]
    active_timeout: float = ACTIVE_MS / 1000  # seconds (ng_netflow defaults)
    inactive_timeout: float = INACTIVE_MS / 1000
    scan_interval: float | None = None
    max_flows: int | None = None
    engine_type: int = 0
    engine_id: int = 0
    ifindex: Mapping[str, int] = field(default_factory=dict)  # ifname -> exported ifindex
    args: tuple[str, ...] = ()  # extra words for the exporter's command line, e.g. ("--quirk", "uptime-seconds")
    line: int = 0
    exporter: Kind = netflow_lab  # which exporter runs it (testbed/exporters): how it launches, what it claims
    require: frozenset[str] = frozenset()  # claims whose checks count even when the exporter lacks them
    version: int = 5  # the NetFlow version it exports (10: IPFIX)
    options: KindOptions | None = None  # its kind's own typed fields (None: their defaults)

    @property
    def kind(self) -> str:
        """The exporter kind's name, as a lab file says it: netflow-lab | softflowd | ... | command."""
        return self.exporter.name


@dataclass(frozen=True)
class Reproduces:
    """`reproduces:` of a field-bug lab: run with `--quirk-on`, these checks must fail."""

    quirk: str
    checks: tuple[str, ...]  # the checks named for the bug
    symptom: str = ""
    line: int = 0


def frozen_map(d: Mapping) -> Mapping:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class Topology:
    name: str
    source: str  # the file it came from (for messages)
    nodes: Mapping[str, Node] = field(default_factory=dict)
    links: tuple[Link, ...] = ()
    probes: Mapping[str, Probe] = field(default_factory=dict)
    collectors: Mapping[str, Collector] = field(default_factory=dict)
    traffic: tuple = ()  # traffic.step.Step, one dataclass per kind
    expect: tuple = ()  # expect.check.Check, one dataclass per kind
    description: str = ""
    reproduces: Reproduces | None = None  # field-bug labs: the quirk that makes them fail
    servers: Mapping = field(default_factory=dict)  # name -> servers.Server; empty: this machine only
    placement: str = "explicit"  # how nodes without `server:` are placed (plan/placement.py)

    def node(self, name: str) -> Node:
        return self.nodes[name]

    def interface(self, ref: str) -> Interface:
        """'r1:eth0' -> its Interface (KeyError if unknown)."""
        node, ifname = split_ref(ref)
        found = self.nodes[node].interface(ifname) if node in self.nodes else None
        if found is None:
            raise KeyError(f"unknown interface {ref!r}")
        return found

    def where(self, line: int) -> str:
        return f"{self.source}:{line}"

    def at(self, line: int) -> str:
        """How validate --explain names a line of the lab: the file's own line number."""
        return f"line {line}"

    def shared_links(self, a: str, b: str) -> list[Link]:
        return [ln for ln in self.links if a in ln.nodes and b in ln.nodes and a != b]

    def address_of(self, node: str, on_link_with: str | None = None) -> IPv4Address:
        """The node's address (on the link it shares with `on_link_with`, if given).

        Without `on_link_with`: the node's first address (interfaces in name order).
        Raises ValueError when there is none, or the shared link is ambiguous.
        """
        n = self.nodes[node]
        if on_link_with is None:
            if not n.addresses:
                raise ValueError(f"{node} has no address")
            return n.addresses[0].ip
        found = []
        for link in self.shared_links(node, on_link_with):
            ref = next(r for r in link.endpoints if split_ref(r)[0] == node)
            found += [a.ip for a in self.interface(ref).addresses]
        if len(found) != 1:
            what = "no address" if not found else f"{len(found)} addresses"
            raise ValueError(f"{node} has {what} on links shared with {on_link_with}")
        return found[0]
