"""`kind: route` - `ip route add|delete|change|replace` in a node, as a lab file writes routes."""
from __future__ import annotations

from dataclasses import dataclass

from ...schema.kinds import spec
from ..step import STEPS, Env, Step, StepResult, choice, done, node


def _route(r, known, y, got):
    return known.route(r, got["node"], y) if got.get("node") else None


@STEPS.add
@dataclass(frozen=True, kw_only=True)
class Route(Step):
    kind = "route"
    node: str = spec(node)
    action: str = spec(choice("add", "delete", "change", "replace", what="route action"))
    route: object = spec(_route)  # a topology Route, resolved against the node's links

    def run(self, env: Env) -> StepResult:
        with env.routes_settle({self.node}):
            env.lab.route(self.node, self.action, self.route)
        return done(f"{self.node}: ip route {self.action} {self.route}")
