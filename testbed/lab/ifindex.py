"""Which ifindex each interface gets: pinned ones as the file says, the rest planned.

Every veth is created with an explicit `index`, so indexes never depend on
creation order: per node, unpinned interfaces take 2, 3, ... (1 is lo) in name
order, skipping pinned values. Each namespace numbers its interfaces on its
own, so two runs (or two nodes) can both have ifindex 70000.
"""
from __future__ import annotations

from ..topology import Topology


def plan(topo: Topology) -> dict[str, int]:
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
