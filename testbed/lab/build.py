"""Build steps, in order: node settings, links, interface settings, routes.

Veth pairs are created from inside the first node straight into the peer's
namespace (`ip link add NAME index N type veth peer name PEER index M netns
PID`), so they never exist in the root namespace: no name there to collide
with another run, and each end has its final name (the file's `eth0`) from
the start. A link with more than two endpoints is a bridge in a hidden node.
"""
from __future__ import annotations

from typing import Callable

from ..topology import Link, Topology, split_ref
from .node import LabError, LabNode

QUIET = ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
         "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
         "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.default.send_redirects=0"]
BRIDGE = "br0"


def settle_node(node: LabNode, router: bool) -> None:
    """No IPv6 (quiet captures), no reverse-path filter, forwarding only on routers."""
    node.run(["sysctl", "-qw", *QUIET, f"net.ipv4.ip_forward={int(router)}"])
    node.run(["ip", "link", "set", "lo", "up"])


def make_bridge(seg: LabNode) -> None:
    settle_node(seg, router=False)
    seg.run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    seg.run(["ip", "link", "set", BRIDGE, "up"])


def port_name(k: int) -> str:
    return f"p{k}"  # the bridge-side veth of a segment's endpoint k


def make_link(link: Link, nodes: dict[str, LabNode], seg: LabNode | None,
              plan: dict[str, int], record: Callable[[str, str, int], None]) -> None:
    """The veth pair of a two-endpoint link, or one veth per endpoint to the segment's bridge."""
    if seg is None:
        a, b = link.endpoints
        (na, ia), (nb, ib) = split_ref(a), split_ref(b)
        nodes[na].run(["ip", "link", "add", ia, "index", plan[a], "type", "veth",
                       "peer", "name", ib, "index", plan[b], "netns", nodes[nb].pid])
        record(na, ia, plan[a])
        record(nb, ib, plan[b])
        return
    for k, ref in enumerate(link.endpoints):
        node, ifname = split_ref(ref)
        nodes[node].run(["ip", "link", "add", ifname, "index", plan[ref], "type", "veth",
                         "peer", "name", port_name(k), "netns", seg.pid])
        record(node, ifname, plan[ref])
        seg.run(["ip", "link", "set", port_name(k), "master", BRIDGE, "up"])


def make_dummy(node: LabNode, ifname: str, ifindex: int) -> None:
    node.run(["ip", "link", "add", ifname, "index", ifindex, "type", "dummy"])


def configure(topo: Topology, nodes: dict[str, LabNode], segs: dict[int, LabNode]) -> None:
    """MTU, addresses and link state of every interface (segment ports take the same MTU)."""
    for spec in topo.nodes.values():
        node = nodes[spec.name]
        for i in spec.interfaces:
            node.run(["ip", "link", "set", "dev", i.name, "mtu", i.mtu, "up"])
            for a in i.addresses:
                node.run(["ip", "addr", "add", str(a), "dev", i.name])
            if i.link is not None and i.link in segs:
                k = topo.links[i.link].endpoints.index(i.ref)
                segs[i.link].run(["ip", "link", "set", "dev", port_name(k), "mtu", i.mtu])


def add_routes(topo: Topology, nodes: dict[str, LabNode]) -> None:
    for spec in topo.nodes.values():
        for route in spec.routes:
            try:
                nodes[spec.name].run(["ip", "route", "add", *route.iproute_args()])
            except LabError as exc:
                raise LabError(f"{topo.where(route.line)}: {exc}") from exc
