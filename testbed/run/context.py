"""Build the checks' Context from a built lab: ifindexes as exported, routes."""
from __future__ import annotations

from ..expect.context import Context

V5_MAX = 0xFFFF


def exported_ifindexes(links: dict[str, int], overrides: dict[str, int]) -> dict[str, int]:
    """What the probe must export for each interface, by its documented rule
    (probe/live/ifindex.py): overrides; <= 65535 as is; above, a free index
    counting down from 65535 in ifindex order. The expectation never follows
    a quirk: with `--quirk ifindex-overflow` (index & 0xFFFF) the check must
    fail, or no lab could catch that bug."""
    out: dict[str, int] = {}
    for name, idx in links.items():
        if name in overrides:
            out[name] = overrides[name]
        elif idx <= V5_MAX:
            out[name] = idx
    taken = set(out.values()) | {i for i in links.values() if i <= V5_MAX}
    for name, idx in sorted(links.items(), key=lambda kv: kv[1]):
        if name not in out:
            free = next(n for n in range(V5_MAX, 0, -1) if n not in taken)
            out[name] = free
            taken.add(free)
    return out


def build_context(lab, probe_spec, shared: Context | None = None) -> Context:
    """The checks' view of one probe. With `shared`, the new context shares its
    traffic truth and step times (one run, several probes)."""
    ctx = Context(probe_router=probe_spec.node)
    if shared is not None:
        ctx.truth, ctx.step_times, ctx.step_index = shared.truth, shared.step_times, shared.step_index
    router = lab.node(probe_spec.node)
    links = {link["ifname"]: link["ifindex"] for link in router.links()}
    exported = exported_ifindexes(links, dict(probe_spec.ifindex))
    for name, idx in links.items():
        ref = f"{probe_spec.node}:{name}"
        ctx.kernel_ifindexes[ref] = idx
        ctx.ifindexes[ref] = exported[name]
    refresh_routes(lab, ctx)
    return ctx


def refresh_routes(lab, ctx: Context) -> None:
    """Copy the router's routing table (for messages); again after route steps."""
    table = []
    for route in lab.node(ctx.probe_router).routes():
        prefix = "0.0.0.0/0" if route.get("dst") == "default" else route.get("dst", "")
        if "/" not in prefix:
            prefix += "/32"
        table.append((prefix, route.get("gateway", ""), route.get("dev", "") or route.get("type", "")))
    ctx.routes[ctx.probe_router] = table
