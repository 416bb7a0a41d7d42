"""Hosts that answer nothing while a capture is replayed.

A replayed packet reaches a lab host that never had its connection: the
host's kernel would answer (a RST, an echo reply, a port unreachable) and
the answer would cross the probed router as traffic the capture does not
hold, on the same flow keys. For the length of a replay each host drops every
IPv4 packet its own stack sends; ARP still answers (the router must find the
hosts), the player's frames leave below the firewall, and nodes that run a
probe are left alone (their exports must get out).
"""
from __future__ import annotations

from contextlib import contextmanager

TABLE = "netflow_lab_hush"
RULESET = f"""table ip {TABLE} {{
  chain out {{
    type filter hook output priority -10; policy drop;
  }}
}}
"""


@contextmanager
def hushed_hosts(lab):
    topo = lab.topology
    probing = {p.node for p in topo.probes.values()}
    hosts = [n.name for n in topo.nodes.values() if not n.is_router and n.name not in probing]
    done = []
    try:
        for name in hosts:
            lab.node(name).run(["nft", "-f", "-"], input=RULESET)
            done.append(name)
        yield hosts
    finally:
        for name in done:
            lab.node(name).run(["nft", "delete", "table", "ip", TABLE], check=False)
