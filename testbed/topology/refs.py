"""Names that point elsewhere in the file: nodes, interfaces (`r1:eth0`), probes, steps.

`Known` is what traffic steps and checks may refer to; each reader returns the
referenced thing or None after recording an error that lists what exists.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Mapping

from ..schema.fields import Reader
from .model import Interface, Node, Probe, Route, Topology, split_ref
from .network import Network
from .routes import read_route
from ..schema.yamltree import Y


@dataclass
class Known:
    topo: Topology  # nodes, links, probes and collectors already checked
    net: Network  # the same network, as read (for resolving routes)
    base_dir: Path  # relative file names in the lab file start here
    step_names: frozenset[str] = frozenset()  # traffic steps checks may name (after:, step:)

    @property
    def nodes(self) -> Mapping[str, Node]:
        return self.topo.nodes

    @property
    def probes(self) -> Mapping[str, Probe]:
        return self.topo.probes

    def node(self, r: Reader, y: Y) -> Node | None:
        if isinstance(y.value, str) and y.value in self.nodes:
            return self.nodes[y.value]
        r.error(y, f"unknown node {y.value!r} (nodes: {', '.join(self.nodes)})")
        return None

    def interface(self, r: Reader, y: Y) -> Interface | None:
        text = y.value if isinstance(y.value, str) else ""
        node, ifname = split_ref(text)
        if not ifname:
            r.error(y, f"expected an interface like r1:eth0, got {y.value!r}")
        elif node not in self.nodes:
            r.error(y, f"unknown node {node!r} in {text!r}")
        elif self.nodes[node].interface(ifname) is None:
            have = ", ".join(i.name for i in self.nodes[node].interfaces)
            r.error(y, f"{node} has no interface {ifname!r} (it has: {have})")
        else:
            return self.nodes[node].interface(ifname)
        return None

    def probe(self, r: Reader, y: Y) -> Probe | None:
        if isinstance(y.value, str) and y.value in self.probes:
            return self.probes[y.value]
        r.error(y, f"unknown probe {y.value!r} (probes: {', '.join(self.probes) or 'none'})")
        return None

    def route(self, r: Reader, node: str, y: Y) -> Route | None:
        """A route of `node`, written as in its `routes:` (a route step's)."""
        return read_route(r, self.net, node, y)

    def step(self, r: Reader, y: Y) -> str | None:
        """The name of a traffic step."""
        if isinstance(y.value, str) and y.value in self.step_names:
            return y.value
        named = f" (named steps: {', '.join(sorted(self.step_names))})" if self.step_names else ""
        r.error(y, f"no traffic step is named {y.value!r}{named}")
        return None

    def host_or_address(self, r: Reader, y: Y) -> str | None:
        """A node name (that has an address) or an IPv4 address; returned as written."""
        text = y.value
        if isinstance(text, str) and text in self.nodes:
            if not self.nodes[text].addresses:
                r.error(y, f"{text} has no address")
                return None
            return text
        try:
            IPv4Address(text)
            return text
        except ValueError:
            r.error(y, f"{text!r} is neither a node nor an IPv4 address")
            return None

    def networks(self, r: Reader, y: Y) -> tuple[IPv4Network, ...] | None:
        """A node (all its addresses, as /32s), an address or a prefix."""
        text = y.value
        if isinstance(text, str) and text in self.nodes:
            found = tuple(IPv4Network(a.ip) for a in self.nodes[text].addresses)
            if not found:
                r.error(y, f"{text} has no address")
            return found or None
        if not isinstance(text, str):
            r.error(y, f"expected a node, an address or a prefix, got {text!r}")
            return None
        try:
            return (IPv4Network(text),)
        except ValueError:
            r.error(y, f"{text!r} is neither a node, an address nor a prefix")
            return None
