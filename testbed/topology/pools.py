"""`pools:` - address pools that hand each link the next free subnet.

`pools: {p2p: 10.255.0.0/24}` gives a two-endpoint link a /30 (a segment the
smallest subnet that fits its endpoints); `{prefix: ..., size: 31}` fixes the
size. Subnets are handed out in link order, aligned, never reused.
"""
from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from ..schema.fields import Reader
from ..schema.yamltree import Y


def host_addresses(subnet: IPv4Network, n: int) -> list[IPv4Address]:
    """The first n usable addresses (a /31 uses both, a /32 its one)."""
    first = 0 if subnet.prefixlen >= 31 else 1
    usable = subnet.num_addresses - 2 * first
    base = int(subnet.network_address) + first
    return [IPv4Address(base + k) for k in range(min(n, usable))]


def _fitting_size(n: int) -> int:
    """Smallest prefix length with n usable host addresses (at least a /30)."""
    bits = 2
    while (1 << bits) - 2 < n:
        bits += 1
    return 32 - bits


class Pools:
    def __init__(self, r: Reader, spec: Y | None):
        self.r = r
        self.pools: dict[str, tuple[IPv4Network, int | None]] = {}
        for name, y in (r.mapping(spec, "pools") or {}).items() if spec is not None else ():
            self._read(name, y)
        self.cursor = {name: int(p.network_address) for name, (p, _) in self.pools.items()}

    def _read(self, name: str, y: Y) -> None:
        r = self.r
        if r.name(name, y, "pool name") is None:
            return
        size, prefix_y = None, y
        if y.is_map:
            f = r.fields(y, ("prefix",), ("size",), "a pool")
            if not f or "prefix" not in f:
                return
            prefix_y = f["prefix"]
            size = r.integer(f["size"], 1, 32, "a prefix length") if "size" in f else None
        prefix = r.prefix(prefix_y)
        if prefix is not None:
            self.pools[name] = (prefix, size)

    def allocate(self, y: Y, name: str, endpoints: int) -> IPv4Network | None:
        """The next free subnet of pool `name` for a link with this many endpoints."""
        r = self.r
        if name not in self.pools:
            known = f" (pools: {', '.join(self.pools)})" if self.pools else " (no pools: defined)"
            r.error(y, f"unknown pool {name!r}{known}")
            return None
        pool, size = self.pools[name]
        size = size or _fitting_size(endpoints)
        if size == 31 and endpoints > 2 or size == 32 and endpoints > 1:
            r.error(y, f"pool {name!r} gives /{size} subnets: too small for {endpoints} endpoints")
            return None
        step = 1 << (32 - size)
        start = -(-self.cursor[name] // step) * step  # round up to a /size boundary
        if size < pool.prefixlen or start + step > int(pool.broadcast_address) + 1:
            r.error(y, f"pool {name!r} ({pool}) has no /{size} left for this link")
            return None
        self.cursor[name] = start + step
        return IPv4Network((start, size))
