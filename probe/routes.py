"""Route lookups for flow enrichment: the interface and a longest-prefix table.

The flow cache asks `lookup(addr)` once per new flow for the destination
(out ifindex, next hop, dst mask) and once for the source (src mask). The
static table here serves offline mode and tests; live/kernel_routes.py keeps
one of these in sync with the kernel's routes.
"""
from __future__ import annotations

from typing import NamedTuple, Protocol


class Route(NamedTuple):
    """What a route lookup tells a flow. Addresses are host-order ints."""

    out_ifindex: int  # 0 for local delivery, blackhole, unreachable
    next_hop: int  # 0 when the destination is on-link
    mask: int  # prefix length of the route that matched


class RouteLookup(Protocol):
    def lookup(self, addr: int) -> Route | None: ...


class RouteTable:
    """Longest-prefix match over IPv4 prefixes, one dict per prefix length.

    A lookup costs one dict probe per distinct prefix length in the table
    (a handful on a router), independent of the number of routes.
    """

    def __init__(self) -> None:
        self._by_len: dict[int, dict[int, Route]] = {}
        self._lengths: list[int] = []  # longest first

    def add(self, network: int, plen: int, route: Route) -> None:
        if not 0 <= plen <= 32:
            raise ValueError(f"prefix length {plen} out of range")
        table = self._by_len.get(plen)
        if table is None:
            table = self._by_len[plen] = {}
            self._lengths = sorted(self._by_len, reverse=True)
        table[network & _MASKS[plen]] = route._replace(mask=plen)

    def lookup(self, addr: int) -> Route | None:
        for plen in self._lengths:
            route = self._by_len[plen].get(addr & _MASKS[plen])
            if route is not None:
                return route
        return None

    def __len__(self) -> int:
        return sum(len(t) for t in self._by_len.values())


_MASKS = [(0xFFFFFFFF << (32 - n)) & 0xFFFFFFFF for n in range(33)]


def parse_static_route(text: str) -> tuple[int, int, Route]:
    """Parse `PREFIX[,via=GW][,dev=IFINDEX]` (the offline --route option).

    Raises ValueError with a message naming the bad part.
    """
    import netaddr

    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise ValueError(f"empty route {text!r}")
    try:
        net = netaddr.IPNetwork(parts[0])
    except (netaddr.AddrFormatError, ValueError) as exc:
        raise ValueError(f"bad prefix {parts[0]!r}: {exc}") from None
    if net.version != 4:
        raise ValueError(f"not an IPv4 prefix: {parts[0]!r}")
    via, dev = 0, 0
    for part in parts[1:]:
        name, _, value = part.partition("=")
        if name == "via":
            try:
                gw = netaddr.IPAddress(value)
            except (netaddr.AddrFormatError, ValueError):
                raise ValueError(f"bad gateway {value!r} in {text!r}") from None
            via = int(gw)
        elif name == "dev":
            if not value.isdigit() or int(value) > 0xFFFFFFFF:
                raise ValueError(f"dev must be an ifindex number, got {value!r} in {text!r}")
            dev = int(value)
        else:
            raise ValueError(f"unknown route attribute {name!r} in {text!r} (use via= or dev=)")
    return int(net.network), net.prefixlen, Route(dev, via, net.prefixlen)
