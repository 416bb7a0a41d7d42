"""Does anything listen where a probe exports? A lab must say so when not.

A probe exporting to an address where nothing listens loses every datagram,
and in a lab nobody tells it (the hosts' quiet firewall drops the ICMP port
unreachable). Right after the start, each literal `ADDR:PORT` a probe exports
to is looked up: the lab node that has the address, and a UDP socket bound
to the port there (`ss -uln`). Reference collectors are known to listen.
"""
from __future__ import annotations

from ipaddress import IPv4Address


def deaf_exports(lab, probes) -> dict[str, list[str]]:
    """probe name -> why each of its non-collector destinations hears nothing."""
    topo = lab.topology
    out: dict[str, list[str]] = {}
    for p in probes:
        for e in p.export:
            if e.collector:
                continue
            owner = next((n for n in topo.nodes.values() if any(a.ip == e.address for a in n.addresses)), None)
            if owner is None:
                why = f"{e}: no lab node has the address {e.address}"
            elif not _bound(lab.node(owner.name).run(["ss", "-H", "-uln"]).stdout, e.address, e.port):
                why = f"{e}: nothing listens on UDP port {e.port} in {owner.name}"
            else:
                continue
            out.setdefault(p.name, []).append(why)
    return out


def _bound(ss: str, address: IPv4Address, port: int) -> bool:
    for line in ss.splitlines():
        cols = line.split()
        if len(cols) < 4:
            continue
        host, _, bound = cols[3].rpartition(":")
        if bound == str(port) and host in (str(address), "0.0.0.0", "*", "[::]"):
            return True
    return False
