"""Quiet hosts: crafted sessions must not be answered by the hosts' kernels.

A crafted TCP session has no socket behind it, so the receiving host's
kernel would answer each segment with a RST (and a UDP stream with ICMP port
unreachable), adding flows and expiring the session early. Each lab host gets
an nftables table that drops those kernel answers; the traffic player's own
packets carry a mark and pass. Routers are left alone: what they send is
part of what a lab observes.
"""
from __future__ import annotations

from ..traffic.player import PLAYER_MARK

TABLE = "netflow_lab_quiet"


def ruleset() -> str:
    return f"""table ip {TABLE} {{
  chain out {{
    type filter hook output priority 0; policy accept;
    meta mark {PLAYER_MARK:#x} accept
    tcp flags & rst == rst drop
    icmp type destination-unreachable drop
  }}
}}
"""


def quiet_hosts(lab) -> None:
    for spec in lab.topology.nodes.values():
        if not spec.is_router:
            lab.node(spec.name).run(["nft", "-f", "-"], input=ruleset())
