"""The route mirror against the kernel's own answer (`ip route get fibmatch`)."""
from __future__ import annotations

import ipaddress
import random
import socket

import pytest

from probe.live.ifindex import IfindexMap
from probe.live.kernel_routes import KernelRoutes

from .nslab import Lab, inside, need_root
from .oracle import expected, fibmatch, local_prefixes

GATEWAYS = {"a": "10.1.0.2", "b": "10.2.0.2", "c": "192.168.3.2"}
REJECT = ("blackhole", "unreachable", "prohibit")
BIG_INDEX = 70000


def _dotted(n: int) -> str:
    return str(ipaddress.IPv4Address(n))


@pytest.fixture(scope="module")
def rt():
    """A namespace with three links (one of index 70000) and ~400 routes of every kind."""
    need_root()
    with Lab() as lab:
        m, p = lab.ns("m"), lab.ns("p")
        devs = {k: lab.ifname("m" + k) for k in GATEWAYS}
        for k, dev in devs.items():
            lab.veth(m, dev, p, lab.ifname("p" + k), index1=BIG_INDEX if k == "c" else None)
        lab.ip(m, "addr", "add", "10.1.0.1/16", "dev", devs["a"])
        lab.ip(m, "addr", "add", "10.2.0.1/24", "dev", devs["b"])
        lab.ip(m, "addr", "add", "192.168.3.1/24", "dev", devs["c"])
        rng = random.Random(7)
        prefixes, lines = [], []
        for i in range(400):
            plen = rng.choice([0, 1, 8, 8, 12, 16, 16, 20, 24, 24, 28, 30, 31, 32, 32])
            net = ipaddress.IPv4Network((rng.getrandbits(32), plen), strict=False)
            prefixes.append(net)
            metric = rng.choice([0, 0, 10, 100, 500])
            kind = rng.random()
            k = rng.choice(list(GATEWAYS))
            if kind < 0.1:
                spec = f"{rng.choice(REJECT)} {net} metric {metric}"
            elif kind < 0.3:
                spec = f"{net} metric {metric} dev {devs[k]}"
            elif kind < 0.4:
                k2 = rng.choice([x for x in GATEWAYS if x != k])
                spec = f"{net} metric {metric} nexthop via {GATEWAYS[k]} nexthop via {GATEWAYS[k2]}"
            else:
                spec = f"{net} metric {metric} via {GATEWAYS[k]}"
            lines.append(f"route add {spec}")
        lines += ["route add 127.5.0.0/16 via 10.1.0.2",  # beats local 127/8
                  "route add 10.1.0.1/32 via 10.2.0.2",  # loses to the local /32
                  "route add 20.0.0.0/8 via 10.1.0.2 metric 20",
                  "route add 20.0.0.0/8 via 192.168.3.2 metric 10",  # lowest metric wins
                  "route add throw 21.0.0.0/8"]
        res = lab.ip_batch(m, lines)  # some fail: "File exists" (same prefix and metric)
        assert "File exists" in res.stderr and "Error:" not in res.stderr, res.stderr
        yield lab, m, p, devs, prefixes


def _addresses(prefixes, n: int, rng: random.Random) -> list[str]:
    # (not 0.0.0.0: the kernel answers for a dst of 0 with a special case of its own)
    out = ["10.1.0.1", "10.1.255.255", "10.2.0.255", "127.0.0.1", "127.5.1.1",
           "20.1.1.1", "21.1.1.1", "255.255.255.255", "192.168.3.2"]
    while len(out) < n:
        if rng.random() < 0.6:
            net = rng.choice(prefixes)
            out.append(_dotted(int(net.network_address) + rng.randrange(net.num_addresses)))
        else:
            out.append(_dotted(rng.getrandbits(32)))
    return out


def _mismatches(kr: KernelRoutes, ns: str, addrs: list[str], exported: dict[str, int]):
    bad = []
    local = local_prefixes(ns)
    for addr, answer in zip(addrs, fibmatch(ns, addrs)):
        got = kr.lookup(int(ipaddress.IPv4Address(addr)))
        out, hop, mask = expected(answer, exported, local)
        if isinstance(answer, str):
            # the kernel refuses: no route (or throw) <-> None; reject routes <-> out 0
            ok = (got is None) if answer == "Network is unreachable" else (
                got is not None and got.out_ifindex == 0 and got.next_hop == 0)
        else:
            ok = got is not None and (got.out_ifindex, _dotted(got.next_hop), got.mask) == (out, hop, mask)
        if not ok:
            bad.append((addr, answer, got))
    return bad


def _exported(lab, ns: str) -> dict[str, int]:
    """ifindex per device as v5 should carry it: 70000 -> 65535 (the first free index)."""
    links = {line.split()[0].split("@")[0]: 0 for line in lab.ip(ns, "-br", "link").splitlines()}
    with inside(ns):
        idx = {name: socket.if_nametoindex(name) for name in links}
    return {name: (65535 if i == BIG_INDEX else i) for name, i in idx.items()}


def test_mirror_agrees_with_fibmatch(rt):
    lab, m, _, devs, prefixes = rt
    warnings = []
    with inside(m):
        kr = KernelRoutes(IfindexMap(warn=warnings.append))
    try:
        assert warnings == [f"{devs['c']} ifindex {BIG_INDEX} cannot be represented in NetFlow v5; "
                            f"exported as 65535 (override with --ifindex {devs['c']}=N)"]
        addrs = _addresses(prefixes, 4000, random.Random(1))
        assert _mismatches(kr, m, addrs, _exported(lab, m)) == []
    finally:
        kr.close()


def test_mirror_follows_route_and_link_changes(rt):
    lab, m, p, devs, prefixes = rt
    with inside(m):
        kr = KernelRoutes(IfindexMap(warn=lambda line: None))
    try:
        exported = _exported(lab, m)
        assert kr.lookup(0x14010101).next_hop == 0xC0A80302  # 20.1.1.1 via metric 10
        lab.ip(m, "route", "replace", "20.0.0.0/8", "via", "10.2.0.2", "metric", "10")
        with inside(m):
            assert kr.poll()
        got = kr.lookup(0x14010101)
        assert (got.out_ifindex, _dotted(got.next_hop)) == (exported[devs["b"]], "10.2.0.2")
        assert not kr.poll()  # nothing new: no rebuild

        # a device goes down: the kernel flushes its routes without RTM_DELROUTE,
        # and marks multipath hops through it dead
        lab.ip(m, "link", "set", devs["a"], "down")
        with inside(m):
            assert kr.poll()
        addrs = _addresses(prefixes, 2000, random.Random(2))
        assert _mismatches(kr, m, addrs, exported) == []
    finally:
        kr.close()
        lab.ip(m, "link", "set", devs["a"], "up")


def test_override_applies_to_route_output(rt):
    lab, m, _, devs, _ = rt
    with inside(m):
        kr = KernelRoutes(IfindexMap({devs["c"]: 7}, warn=lambda line: None))
    try:
        assert kr.lookup(0xC0A80309).out_ifindex == 7  # 192.168.3.9: connected on c
        assert kr.lookup(0xC0A80301).out_ifindex == 0  # the router itself
    finally:
        kr.close()
