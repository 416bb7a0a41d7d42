"""What each interface of a lab is, decided before anything is built.

ifindex: every veth is created with an explicit `index`, so indexes never
depend on creation order: per node, unpinned interfaces take 2, 3, ... (1 is
lo) in name order, skipping pinned values. Each namespace numbers its
interfaces on its own, so two runs (or two nodes) can both have ifindex 70000.

MAC: every interface gets a locally administered address numbered in lab
order (02:6e:6c:..), so an exporter's capture filter (`not ether src MAC`)
is known before the build and a lab is the same at every run.

What a probe exports for an interface: the lab's override, else the kernel's
index when it fits NetFlow v5's 16 bits, else a free index counting down from
65535 (probe/live/ifindex.py documents the rule; the expectation never follows
a quirk, or no lab could catch `--quirk ifindex-overflow`).
"""
from __future__ import annotations

from ipaddress import IPv4Address
from typing import Mapping

from ..topology import Node, Topology

V5_MAX = 0xFFFF


def ifindexes(topo: Topology) -> dict[str, int]:
    """Interface ref ('r1:eth0') -> ifindex."""
    out: dict[str, int] = {}
    for node in topo.nodes.values():
        taken = {i.ifindex for i in node.interfaces if i.ifindex is not None}
        nxt = 2
        for i in node.interfaces:
            if i.ifindex is not None:
                out[i.ref] = i.ifindex
                continue
            while nxt in taken:
                nxt += 1
            out[i.ref] = nxt
            taken.add(nxt)
    return out


def macs(topo: Topology) -> dict[str, str]:
    """Interface ref -> its MAC, unique in the lab."""
    refs = [i.ref for node in topo.nodes.values() for i in node.interfaces]
    if len(refs) >= 1 << 24:
        raise ValueError(f"{len(refs)} interfaces: at most {(1 << 24) - 1} in one lab")
    return {ref: "02:6e:6c:" + ":".join(f"{(n >> s) & 0xFF:02x}" for s in (16, 8, 0))
            for n, ref in enumerate(refs, 1)}


def exported(kernel: Mapping[str, int], overrides: Mapping[str, int]) -> dict[str, int]:
    """What a probe must export for each interface (name -> index), by the rule above."""
    out: dict[str, int] = {}
    for name, idx in kernel.items():
        if name in overrides:
            out[name] = overrides[name]
        elif idx <= V5_MAX:
            out[name] = idx
    taken = set(out.values()) | {i for i in kernel.values() if i <= V5_MAX}
    for name, idx in sorted(kernel.items(), key=lambda kv: kv[1]):
        if name not in out:
            free = next(n for n in range(V5_MAX, 0, -1) if n not in taken)
            out[name] = free
            taken.add(free)
    return out


def source_towards(node: Node, address: IPv4Address) -> IPv4Address | None:
    """The address `node` sends from towards `address`, as the kernel picks it: the first
    address of the interface of the longest matching connected subnet or route."""
    best: tuple[int, IPv4Address] | None = None
    for iface in node.interfaces:
        for a in iface.addresses:
            if address in a.network and (best is None or a.network.prefixlen > best[0]):
                best = (a.network.prefixlen, iface.addresses[0].ip)
    for route in node.routes:
        if route.type != "unicast" or address not in route.prefix:
            continue
        if best is not None and route.prefix.prefixlen <= best[0]:
            continue
        iface = node.interface(route.dev) if route.dev else next(
            (i for i in node.interfaces if route.via is not None and any(route.via in a.network for a in i.addresses)),
            None)
        if iface is not None and iface.addresses:
            best = (route.prefix.prefixlen, iface.addresses[0].ip)
    return None if best is None else best[1]
