"""A routed lab for exporters under test: two hosts behind a router, a collector host.

    h1 --- [ia] r [ib] --- h2        the exporter runs in r, on ia and ib
                  [ic] --- c         collectors listen in c (10.9.9.2)

Hosts are quiet (testbed/run/quiet.py: their kernels do not answer crafted
packets) and send exactly what testbed/traffic/plan.py planned, with the real
traffic player, so every flow's packets and octets are known before they leave.
Names carry the tests' per-run prefix; cleanup deletes the namespaces by name.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from ipaddress import ip_interface
from pathlib import Path

from live.nslab import Lab, sh
from scapy.layers.inet import IP, TCP

from testbed.run.quiet import ruleset
from testbed.traffic import plan as P
from testbed.traffic.steps.icmp import Icmp
from testbed.traffic.steps.tcp import Tcp
from testbed.traffic.steps.udp import Udp

H1, H2, C = "10.1.1.2", "10.2.2.2", "10.9.9.2"
FAR, FAR_HOST = "20.0.0.0/8", "20.1.2.3"  # routed by r via h2, which drops it
ROUTER = {"ia": "10.1.1.1", "ib": "10.2.2.1", "ic": "10.9.9.1"}
HOSTS = {"ia": ("h1", H1), "ib": ("h2", H2), "ic": ("c", C)}
PLEN = 24
START_LEAD_S = 0.3


class RoutedLab:
    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.r = lab.ns("r")
        self.ns = {host: lab.ns(host) for host, _ in HOSTS.values()}
        self.ifname = {short: lab.ifname(short) for short in ROUTER}  # the router's side
        for short, raddr in ROUTER.items():
            host, haddr = HOSTS[short]
            peer = lab.ifname(host)
            lab.veth(self.r, self.ifname[short], self.ns[host], peer)
            lab.ip(self.r, "addr", "add", f"{raddr}/{PLEN}", "dev", self.ifname[short])
            lab.ip(self.ns[host], "addr", "add", f"{haddr}/{PLEN}", "dev", peer)
            lab.ip(self.ns[host], "route", "add", "default", "via", raddr)
            if host != "c":
                sh("ip", "netns", "exec", self.ns[host], "nft", "-f", "-", input=ruleset())
        lab.sysctl(self.r, "net.ipv4.ip_forward=1")
        lab.ip(self.r, "route", "add", FAR, "via", H2)  # a gateway route: next hop and a /8 mask
        self.ifindex = {short: lab.ifindex(self.r, name) for short, name in self.ifname.items()}
        self.addresses = {self.ifname[s]: a for s, a in ROUTER.items()}
        self._warm_arp()

    @property
    def probed(self) -> tuple[str, ...]:
        """The router interfaces the exporter captures on (not the collector's link)."""
        return self.ifname["ia"], self.ifname["ib"]

    def prefix(self, node: str) -> list[str]:
        """Command prefix that runs inside a node's namespace."""
        return ["ip", "netns", "exec", self.r if node == "r" else self.ns[node]]

    def _warm_arp(self) -> None:
        """Resolve every neighbour once, so that no ARP wait delays the first flow."""
        for host, addr in (("h1", H2), ("h2", H1), ("c", ROUTER["ic"])):
            sh(*self.prefix(host), "ping", "-c", "1", "-W", "2", addr, check=False)

    def play(self, plans: list[P.Planned], workdir: Path, tag: str) -> dict[P.FlowId, float]:
        """Send planned packets from their nodes (one real player each, started
        together); returns the unix time each flow's last packet was sent."""
        start = time.time() + START_LEAD_S
        procs = []
        by_node = P.split_by_node(plans)
        for node, mine in by_node.items():
            plan_file = workdir / f"{tag}-{node}.plan.json"
            plan_file.write_text(json.dumps({"start": start,
                                             "packets": [[p.t, p.data.hex()] for p in mine]}))
            procs.append(subprocess.Popen(
                [*self.prefix(node), sys.executable, "-m", "testbed.traffic.player", str(plan_file)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        last: dict[P.FlowId, float] = {}
        for mine, proc in zip(by_node.values(), procs):
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            sent = json.loads(out)
            assert not sent["errors"], sent["errors"]
            for planned, at in zip(mine, sent["sent"]):
                flow = P.flow_of(planned.data)
                last[flow] = max(last.get(flow, 0.0), at)
        return last


class _Topology:
    """As much of a lab topology as the traffic kinds' plan() reads: hosts and their addresses."""

    class Host:
        def __init__(self, address: str) -> None:
            self.addresses = (ip_interface(f"{address}/{PLEN}"),)

    nodes = {"h1": Host(H1), "h2": Host(H2)}

    def address_of(self, node: str):
        return self.nodes[node].addresses[0].ip


TOPOLOGY = _Topology()


def udp(src: str, to: str, **kw) -> list[P.Planned]:
    """The packets of a lab's `kind: udp` step from host `src` to a host or address."""
    return Udp(src=src, to=to, **kw).plan(TOPOLOGY)


def tcp(src: str, to: str, **kw) -> list[P.Planned]:
    return Tcp(src=src, to=to, **kw).plan(TOPOLOGY)


def icmp(src: str, to: str, **kw) -> list[P.Planned]:
    return Icmp(src=src, to=to, **kw).plan(TOPOLOGY)


def syn(src: str, to: str, sport: int, dport: int) -> list[P.Planned]:
    """One lone TCP SYN."""
    ends = P.ends_of(TOPOLOGY, src, to)
    return [P.Planned(0.0, src, bytes(IP(src=ends.src, dst=ends.dst) / TCP(sport=sport, dport=dport, flags="S")))]


def expected_route(src: str, dst: str) -> dict:
    """What route enrichment on r gives a flow from src to dst: interfaces by
    their short names (ia, ib), next hop, masks."""
    def side(addr: str) -> str:
        return "ia" if addr.startswith("10.1.1.") else "ib"
    far = dst.startswith("20.")
    return {"in": side(src), "out": "ib" if far else side(dst),
            "next_hop": H2 if far else "0.0.0.0", "src_mask": PLEN, "dst_mask": 8 if far else PLEN}
