"""Which server each node runs on, and the tunnels that join nodes on different servers.

The rules are Mininet Cluster Edition's placers (mininet/examples/cluster.py), so a
Mininet user gets what they know: `round-robin` is its RoundRobinPlacer (nodes in file
order, one server after the other), `by-router` its SwitchBinPlacer with routers in
the switches' place (routers in even bins, in file order; a host goes with the last
router it is linked to); `explicit` means every node says `server:`. A node's own
`server:` always wins. They are written out here rather than imported: the plan is
pure and `validate` loads no Mininet (tests/testbed/test_placement.py checks both agree).

A link whose two ends are on different servers is a tunnel (VXLAN, as `tunnel:
vxlan` builds on one machine): the VNI is the run's and the link's, so two runs
between the same servers never share one.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

from ..schema.errors import Problems
from ..topology import Topology
from ..topology.servers import Server

LOCAL = "local"  # the implicit server of a lab without `servers:`: this machine
MAX_TUNNELS = 4095  # per run: the VNI's low 12 bits


@dataclass(frozen=True)
class TunnelEnd:
    ref: str  # the lab interface it is ("r1:eth1")
    server: str
    address: str | None  # the server's underlay address (None: looked up when built)


@dataclass(frozen=True)
class TunnelPlan:
    link: int  # index into Topology.links
    kind: str  # "vxlan"
    vni: int
    ends: tuple[TunnelEnd, TunnelEnd]
    port: int = 4789

    def __str__(self) -> str:
        a, b = self.ends
        return (f"{self.kind} {self.vni} (UDP {self.port}): {a.ref} on {a.server} ({a.address or 'its address'}) "
                f"<-> {b.ref} on {b.server} ({b.address or 'its address'})")


def place(topo: Topology, problems: Problems) -> dict[str, str]:
    """node -> server name; problems at the node's line."""
    servers = list(topo.servers)
    if not servers:
        for n in topo.nodes.values():
            if n.server is not None:
                problems.add(n.line, f"nodes.{n.name}.server", f"server {n.server!r}: the lab has no servers: "
                             "(add servers:, or run with --servers)")
        return {n: LOCAL for n in topo.nodes}
    out: dict[str, str] = {}
    for n in topo.nodes.values():
        if n.server is None:
            continue
        if n.server not in topo.servers:
            problems.add(n.line, f"nodes.{n.name}.server", f"unknown server {n.server!r} "
                         f"(servers: {', '.join(servers)})")
        out[n.name] = n.server
    free = [n for n in topo.nodes if n not in out]
    if topo.placement == "round-robin":
        out.update({n: servers[k % len(servers)] for k, n in enumerate(free)})
    elif topo.placement == "by-router":
        out.update(_by_router(topo, free, servers, problems, dict(out)))
    else:
        for name in free:
            problems.add(topo.nodes[name].line, f"nodes.{name}", "no server: (placement is explicit; "
                         f"say server: one of {', '.join(servers)}, or choose placement: round-robin | by-router)")
    return out


def _by_router(topo: Topology, free: list[str], servers: list[str], problems: Problems,
               placed: dict[str, str]) -> dict[str, str]:
    routers = [n for n in free if topo.nodes[n].is_router]
    quotient, remainder = divmod(len(routers), len(servers))
    tickets = [s for k, s in enumerate(servers) for _ in range(quotient + (k < remainder))]
    out = dict(zip(routers, tickets))
    router_of: dict[str, str] = {}
    for link in topo.links:
        nodes = link.nodes
        for a in nodes:
            for b in nodes:
                if a != b and not topo.nodes[a].is_router and topo.nodes[b].is_router:
                    router_of[a] = b
    for n in free:
        if n in out:
            continue
        router = router_of.get(n)
        if router is None:
            problems.add(topo.nodes[n].line, f"nodes.{n}", f"placement by-router: {n} is linked to no router; "
                         "give it server:")
            continue
        out[n] = out.get(router) or placed[router]
    return out


def tunnels(topo: Topology, placement: dict[str, str], run_id: str, problems: Problems) -> dict[int, TunnelPlan]:
    """The links between servers, each a VXLAN tunnel."""
    base = (zlib.crc32(run_id.encode()) & 0xFFF) << 12
    out: dict[int, TunnelPlan] = {}
    for link in topo.links:
        where = {placement.get(n) for n in link.nodes}
        if len(where) < 2 or not where <= set(topo.servers):
            continue
        if link.is_segment:
            problems.add(link.line, f"links[{link.index}]", "a shared segment (3 or more endpoints) must be on one "
                         f"server; its nodes are on {', '.join(sorted(where))}")
            continue
        if len(out) >= MAX_TUNNELS:
            problems.add(link.line, f"links[{link.index}]", f"more than {MAX_TUNNELS} links between servers")
            continue
        ends = tuple(TunnelEnd(ref, placement[n], _address(topo.servers[placement[n]]))
                     for ref, n in zip(link.endpoints, link.nodes))
        out[link.index] = TunnelPlan(link.index, "vxlan", base + 1 + len(out), ends)
    return out


def _address(server: Server) -> str | None:
    return str(server.address) if server.address is not None else None
