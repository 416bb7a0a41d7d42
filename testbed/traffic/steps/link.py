"""`kind: link` - take a link down or up at both ends (the kernel drops or regains its routes).

A flap next to a probe or a collector may cut the export path: the run then taps
it, and what the probe could not get across counts as the path's loss."""
from __future__ import annotations

from dataclasses import dataclass

from ...schema.kinds import spec
from ..step import STEPS, Env, Step, StepResult, choice, done, interface


@STEPS.add
@dataclass(frozen=True, kw_only=True)
class Link(Step):
    kind = "link"
    interface: str = spec(interface)
    action: str = spec(choice("down", "up", what="link action"))

    def run(self, env: Env) -> StepResult:
        with env.routes_settle(self.nodes(env.lab.topology)):
            (env.lab.link_down if self.action == "down" else env.lab.link_up)(self.interface)
        return done(f"{self.interface} {self.action}")

    def taps(self, topo) -> set[tuple[str, str]]:
        """A flap next to a probe or a collector may cut the export path: tap it, so
        what could not be sent (no route) is known."""
        near = self.nodes(topo)
        return {(p.name, e.collector) for p in topo.probes.values() for e in p.export
                if e.collector and (p.node in near or topo.collectors[e.collector].node in near)}

    def nodes(self, topo) -> set[str]:
        """The nodes whose interfaces change: the interface's and its peer's."""
        iface = topo.interface(self.interface)
        found = {iface.node}
        if iface.link is not None and not topo.links[iface.link].is_segment:
            found |= set(topo.links[iface.link].nodes)
        return found
