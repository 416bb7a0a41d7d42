"""Around a route or link change: wait until the probes on the changed nodes
reloaded their routes, so that flows of the next step see the new table."""
from __future__ import annotations

import time

from probe.live.ctl import CtlError

ROUTE_SETTLE_S = 2.0  # at most this long for a probe to reload its routes after a change
QUIET_S = 0.1  # changed, then no further reload for this long: settled
POLL_S = 0.02


def route_refreshes(probes: dict, nodes: set[str]) -> dict[str, int]:
    """How often each running exporter on `nodes` that can be asked reloaded its routes so far."""
    out = {}
    for name, p in probes.items():
        if p.running and p.controls and p.plan.node in nodes:
            try:
                out[name] = p.stats().get("route_refreshes", 0)
            except CtlError:
                pass
    return out


class RoutesSettle:
    def __init__(self, probes: dict, nodes: set[str], say=print) -> None:
        self.probes, self.nodes, self.say = probes, nodes, say

    def __enter__(self) -> None:
        self.before = route_refreshes(self.probes, self.nodes)

    def __exit__(self, exc_type, *_) -> None:
        if exc_type is not None or not self.before:
            return
        deadline = time.monotonic() + ROUTE_SETTLE_S
        seen, quiet_since = None, time.monotonic()
        while time.monotonic() < deadline:
            now = route_refreshes(self.probes, self.nodes)
            if now != seen:
                seen, quiet_since = now, time.monotonic()
            elif all(now.get(p, 0) > n for p, n in self.before.items()) \
                    and time.monotonic() - quiet_since >= QUIET_S:
                return
            time.sleep(POLL_S)
        self.say(f"        (the probes on {', '.join(sorted(self.nodes))} did not "
                 f"reload their routes within {ROUTE_SETTLE_S:g} s)")
