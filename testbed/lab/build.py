"""Build a lab's network in two batched passes, every node's commands at once.

Pass 1 (`plan_create`), per node: its sysctls (no IPv6, no reverse-path
filter, forwarding only on routers), lo up, and the links it owns: a veth is
created from inside its first node straight into the peer's namespace (`ip
link add NAME index N type veth peer name PEER index M netns PID`), so it
never exists in the root namespace and each end has its final name from the
start; a link with more than two endpoints is a bridge in a hidden node, one
veth per endpoint. A `tunnel: vxlan` link is carried as two machines would
carry it: two hidden nodes stand for the machines' networks (an underlay
veth between them), and `plan_tunnels` makes a VXLAN end in each and moves
it into its lab node. Pass 2 (`plan_configure`): MTU, addresses, link
state, bridge ports, then static routes.

Each node's part of a pass is one `ip -batch -` (one process instead of one
per command), and the nodes of a pass run concurrently. A failing command is
reported with the lab-file line it came from.
"""
from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass, field
from typing import Mapping

from ..topology import Topology, split_ref
from .node import LabError, LabNode

QUIET = ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
         "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
         "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.default.send_redirects=0"]
BRIDGE = "br0"
FAILED_LINE = re.compile(r"Command failed -:(\d+)")
# A tunnel link's two hidden "machines" and their underlay: a veth, one /30
UNDERLAY_IF, UNDERLAY = "u0", ("10.254.0.1", "10.254.0.2")
UNDERLAY_MTU = 1600  # the overlay keeps 1500 after VXLAN's 50 bytes
VXLAN_PORT = 4789


def port_name(k: int) -> str:
    return f"p{k}"  # the bridge-side veth of a segment's endpoint k


@dataclass
class Batch:
    """One node's commands of a pass: `ip -batch` lines, each with where it came from."""

    sysctls: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)

    def ip(self, origin: str, *words) -> None:
        self.lines.append(shlex.join(str(w) for w in words))
        self.origins.append(origin)


def plan_create(topo: Topology, nodes: dict[str, LabNode], segs: dict[int, LabNode],
                plan: Mapping[str, int], macs: Mapping[str, str]) -> dict[LabNode, Batch]:
    batches = {n: Batch() for n in [*nodes.values(), *segs.values()]}
    for name, node in nodes.items():
        b = batches[node]
        b.sysctls = [*QUIET, f"net.ipv4.ip_forward={int(topo.nodes[name].is_router)}"]
        b.ip(topo.where(topo.nodes[name].line), "link", "set", "lo", "up")
    for index, seg in segs.items():
        b = batches[seg]
        b.sysctls = [*QUIET, "net.ipv4.ip_forward=0"]
        b.ip("a shared segment", "link", "set", "lo", "up")
        if index < 0 or topo.links[index].tunnel:  # a machine's underlay, not a bridge
            continue
        b.ip("a shared segment", "link", "add", BRIDGE, "type", "bridge")
        b.ip("a shared segment", "link", "set", BRIDGE, "up")
    for link in topo.links:
        where = topo.where(link.line)
        seg = segs.get(link.index)
        if link.tunnel:
            a, b = segs[link.index], segs[~link.index]
            batches[b].sysctls = [*QUIET, "net.ipv4.ip_forward=0"]
            free = min(set(range(2, 5)) - {plan[r] for r in link.endpoints})  # the VXLAN ends' are taken
            batches[a].ip(where, "link", "add", UNDERLAY_IF, "index", free, "type", "veth", "peer", "name",
                          UNDERLAY_IF, "index", free, "netns", b.pid)
            continue
        if seg is None:
            (na, ia), (nb, ib) = (split_ref(r) for r in link.endpoints)
            batches[nodes[na]].ip(where, "link", "add", ia, "index", plan[link.endpoints[0]], "address",
                                  macs[link.endpoints[0]], "type", "veth", "peer", "name", ib, "index",
                                  plan[link.endpoints[1]], "address", macs[link.endpoints[1]],
                                  "netns", nodes[nb].pid)
            continue
        for k, ref in enumerate(link.endpoints):
            node, ifname = split_ref(ref)
            batches[nodes[node]].ip(where, "link", "add", ifname, "index", plan[ref], "address", macs[ref],
                                    "type", "veth", "peer", "name", port_name(k), "netns", seg.pid)
    for spec in topo.nodes.values():
        for i in spec.interfaces:
            if i.link is None:
                batches[nodes[spec.name]].ip(topo.where(i.line), "link", "add", i.name, "index",
                                             plan[i.ref], "address", macs[i.ref], "type", "dummy")
    return batches


def plan_tunnels(topo: Topology, nodes: dict[str, LabNode], segs: dict[int, LabNode],
                 plan: Mapping[str, int], macs: Mapping[str, str]) -> dict[LabNode, Batch]:
    """Between the passes: each tunnel's VXLAN ends, made in their machine's
    underlay namespace (where their UDP socket stays) and moved into the node."""
    batches = {n: Batch() for n in segs.values()}
    for link in topo.links:
        if not link.tunnel:
            continue
        where = topo.where(link.line)
        machines = (segs[link.index], segs[~link.index])
        for k, (ref, machine) in enumerate(zip(link.endpoints, machines)):
            node, ifname = split_ref(ref)
            b = batches[machine]
            b.ip(where, "addr", "add", f"{UNDERLAY[k]}/30", "dev", UNDERLAY_IF)
            b.ip(where, "link", "set", UNDERLAY_IF, "mtu", UNDERLAY_MTU, "up")
            b.ip(where, "link", "add", ifname, "index", plan[ref], "address", macs[ref], "type", "vxlan",
                 "id", link.index + 1,
                 "local", UNDERLAY[k], "remote", UNDERLAY[1 - k], "dstport", VXLAN_PORT)
            b.ip(where, "link", "set", ifname, "netns", nodes[node].pid)
    return batches


def plan_configure(topo: Topology, nodes: dict[str, LabNode], segs: dict[int, LabNode]
                   ) -> dict[LabNode, Batch]:
    batches = {n: Batch() for n in [*nodes.values(), *segs.values()]}
    for spec in topo.nodes.values():
        b = batches[nodes[spec.name]]
        for i in spec.interfaces:
            b.ip(topo.where(i.line), "link", "set", "dev", i.name, "mtu", i.mtu, "up")
            for a in i.addresses:
                b.ip(topo.where(i.line), "addr", "add", a, "dev", i.name)
            if i.link is not None and i.link in segs and not topo.links[i.link].tunnel:
                k = topo.links[i.link].endpoints.index(i.ref)
                batches[segs[i.link]].ip(topo.where(topo.links[i.link].line), "link", "set", "dev",
                                         port_name(k), "master", BRIDGE, "mtu", i.mtu, "up")
        for route in spec.routes:  # after every address: a gateway must be on a connected subnet
            b.ip(topo.where(route.line), "route", "add", *route.iproute_args())
    return batches


def run_batches(batches: dict[LabNode, Batch]) -> None:
    """Every node's batch at once; LabError naming the lab-file line of a failed command."""
    running = []
    for node, b in batches.items():
        if not b.lines and not b.sysctls:
            continue
        script = 'sysctl -qw "$@" && exec ip -batch -' if b.sysctls else "exec ip -batch -"
        argv = ["mnexec", "-a", str(node.pid), "sh", "-c", script, "sh", *b.sysctls]
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        running.append((node, b, proc))
    errors = []
    for node, b, proc in running:
        _, err = proc.communicate("\n".join(b.lines) + "\n")
        if proc.returncode != 0:
            errors.append(_explain(node, b, err))
    if errors:
        raise LabError("; ".join(errors))


def _explain(node: LabNode, b: Batch, err: str) -> str:
    m = FAILED_LINE.search(err)
    if m is None or not 0 < int(m.group(1)) <= len(b.lines):
        return f"{node.name}: {err.strip() or 'sysctl failed'}"
    n = int(m.group(1)) - 1
    why = err[:m.start()].strip().splitlines()[-1:] or ["failed"]
    return f"{b.origins[n]}: {node.name}: ip {b.lines[n]}: {why[0]}"
