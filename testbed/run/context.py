"""Build the checks' Context from a built lab: addresses, ifindexes as exported, routes."""
from __future__ import annotations


from ..expect.context import Context

V5_MAX = 0xFFFF


def exported_ifindexes(links: dict[str, int], probe_args: tuple[str, ...]) -> dict[str, int]:
    """What the probe must export for each interface, by its documented rule
    (probe/live/ifindex.py): overrides; <= 65535 as is; above, a free index
    counting down from 65535 in ifindex order; quirk ifindex-overflow: & 0xFFFF."""
    overrides: dict[str, int] = {}
    args = list(probe_args)
    for i, a in enumerate(args):
        if a == "--ifindex" and i + 1 < len(args) and "=" in args[i + 1]:
            name, _, n = args[i + 1].partition("=")
            overrides[name] = int(n)
    truncate = "ifindex-overflow" in args or "r135400" in args
    out: dict[str, int] = {}
    for name, idx in links.items():
        if name in overrides:
            out[name] = overrides[name]
        elif idx <= V5_MAX:
            out[name] = idx
        elif truncate:
            out[name] = idx & V5_MAX
    taken = set(out.values()) | {i for i in links.values() if i <= V5_MAX}
    for name, idx in sorted(links.items(), key=lambda kv: kv[1]):
        if name not in out:
            free = next(n for n in range(V5_MAX, 0, -1) if n not in taken)
            out[name] = free
            taken.add(free)
    return out


def build_context(lab, probe_spec) -> Context:
    topo = lab.topology
    ctx = Context(probe_router=probe_spec.node)
    for node in topo.nodes.values():
        ctx.addresses[node.name] = [str(a.ip) for a in node.addresses]
    router = lab.node(probe_spec.node)
    links = {link["ifname"]: link["ifindex"] for link in router.links()}
    exported = exported_ifindexes(links, probe_spec.args)
    for name, idx in links.items():
        ref = f"{probe_spec.node}:{name}"
        ctx.kernel_ifindexes[ref] = idx
        ctx.ifindexes[ref] = exported[name]
    for route in router.routes():
        prefix = "0.0.0.0/0" if route.get("dst") == "default" else route.get("dst", "")
        if "/" not in prefix:
            prefix += "/32"
        ctx.routes.setdefault(probe_spec.node, []).append(
            (prefix, route.get("gateway", ""), route.get("dev", "") or route.get("type", "")))
    return ctx


