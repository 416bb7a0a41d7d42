"""Static routes: `"10.0.2.0/24 via r1"`, `"default via 10.0.1.1"`, `"blackhole 10.66.0.0/16"`.

The string form reads like iproute2: `[TYPE] PREFIX [via GW] [dev IF] [metric N]`;
the mapping form has the same words as keys (`to:` for the prefix). `via` takes
an address on a connected subnet, or a node name meaning that node's address on
the link both share. Routes come out resolved: gateway address and device set.
"""
from __future__ import annotations

from ipaddress import IPv4Address

from ..schema.fields import Reader
from .model import Route, split_ref
from .network import Network
from ..schema.yamltree import Y

TYPES = ("unicast", "blackhole", "unreachable", "prohibit")
WORDS = ("via", "dev", "metric")


def read_routes(r: Reader, net: Network, node: str, spec: Y) -> list[Route]:
    routes: list[Route] = []
    seen: dict[tuple, int] = {}
    for y in r.sequence(spec, "routes"):
        route = read_route(r, net, node, y)
        if route is None:
            continue
        key = (route.prefix, route.metric or 0)
        if key in seen:
            r.error(y, f"a route to {route.prefix} (metric {route.metric or 0}) is already "
                       f"given on line {seen[key]}")
            continue
        seen[key] = y.line
        routes.append(route)
    return routes


def read_route(r: Reader, net: Network, node: str, y: Y) -> Route | None:
    """One route of `node`, resolved against the network (None after an error)."""
    words = _words(r, y)
    if words is None:
        return None
    kind = words.get("type", "unicast")
    if kind not in TYPES:
        r.error(y, f"unknown route type {kind!r} (one of: {', '.join(TYPES)})")
        return None
    if "to" not in words:
        r.error(y, "a route needs a destination prefix (or 'default')")
        return None
    prefix = r.prefix(words["to"], y)
    if prefix is None:
        return None
    metric = None
    if "metric" in words:
        m = words["metric"]
        if not (str(m).isdigit() and int(m) < 2**32):
            r.error(y, f"bad metric {m!r}")
            return None
        metric = int(m)
    if kind != "unicast":
        if "via" in words or "dev" in words:
            r.error(y, f"a {kind} route takes no 'via' or 'dev'")
            return None
        return Route(prefix, kind, metric=metric, line=y.line)
    dev = words.get("dev")
    if dev is not None and f"{node}:{dev}" not in net.ifs:
        r.error(y, f"{node} has no interface {dev!r}")
        return None
    if "via" not in words:
        if dev is None:
            r.error(y, "a route needs 'via' (a gateway) or 'dev' (an interface)")
            return None
        return Route(prefix, dev=dev, metric=metric, line=y.line)
    via = str(words["via"])
    if via in net.kinds:
        found = _via_node(r, net, node, via, dev, y)
        return found and Route(prefix, via=found[0], dev=found[1], via_node=via,
                               metric=metric, line=y.line)
    try:
        gw = IPv4Address(via)
    except ValueError:
        r.error(y, f"via {via!r} is neither a node nor an IPv4 address")
        return None
    out_dev = _connected(r, net, node, gw, dev, y)
    return out_dev and Route(prefix, via=gw, dev=out_dev, metric=metric, line=y.line)


def _words(r: Reader, y: Y) -> dict | None:
    if y.is_map:
        f = r.fields(y, ("to",), ("via", "dev", "type", "metric"), "a route")
        return None if f is None else {k: v.value for k, v in f.items()}
    if not isinstance(y.value, str):
        r.error(y, "expected a route like '10.0.2.0/24 via r1' or a mapping with to:")
        return None
    tokens = y.value.split()
    out: dict = {}
    if tokens and tokens[0] in TYPES:
        out["type"] = tokens.pop(0)
    elif tokens and tokens[0].isalpha() and tokens[0] not in WORDS + ("default",):
        r.error(y, f"unknown route type {tokens[0]!r} (one of: {', '.join(TYPES)})")
        return None
    if tokens and tokens[0] not in WORDS:
        out["to"] = tokens.pop(0)
    while tokens:
        word = tokens.pop(0)
        if word not in WORDS or not tokens or word in out:
            r.error(y, f"cannot read route {y.value!r} at {word!r} "
                       "(expected [TYPE] PREFIX [via GW] [dev IF] [metric N])")
            return None
        out[word] = tokens.pop(0)
    return out


def _via_node(r: Reader, net: Network, node: str, via: str, dev: str | None,
              y: Y) -> tuple[IPv4Address, str] | None:
    """That node's address on the (one) link both share: (gateway, our device)."""
    found = []
    for link in net.links:
        ours = [e for e in link.endpoints if split_ref(e)[0] == node]
        theirs = [e for e in link.endpoints if split_ref(e)[0] == via]
        if not ours or not theirs or (dev and split_ref(ours[0])[1] != dev):
            continue
        mine = net.ifs[ours[0]].addresses
        for a, _ in net.ifs[theirs[0]].addresses:
            if any(a.ip in b.network for b, _ in mine):
                found.append((a.ip, split_ref(ours[0])[1]))
    if len(found) == 1:
        return found[0]
    if via == node:
        r.error(y, f"{node} cannot route via itself")
    elif not found:
        r.error(y, f"{via} has no address on a link shared with {node}"
                   + (f" through {dev}" if dev else ""))
    else:
        r.error(y, f"{node} reaches {via} over {len(found)} links; say which with 'dev'")
    return None


def _connected(r: Reader, net: Network, node: str, gw: IPv4Address, dev: str | None,
               y: Y) -> str | None:
    """Our interface whose subnet holds the gateway."""
    subnets = []
    for i in net.ifs.values():
        if i.node != node or (dev and i.name != dev):
            continue
        for a, _ in i.addresses:
            if a.ip == gw:
                r.error(y, f"gateway {gw} is {node}'s own address")
                return None
            if gw in a.network:
                return i.name
            subnets.append(str(a.network))
    on = f" {node}:{dev}" if dev else f" {node}"
    r.error(y, f"gateway {gw} is not on a connected subnet of{on} "
               f"(connected: {', '.join(subnets) or 'none'})")
    return None
