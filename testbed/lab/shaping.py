"""`bw:` of a link: each endpoint's egress shaped to that rate with tc, as Mininet's TCLink
does (HTB by default: a root htb qdisc whose default class has the rate; or TBF). A
segment's bridge ports are shaped too, so traffic towards each endpoint is limited as
well. Each node's commands are one `tc -batch -`, run in its namespace; a failure names
the lab-file line of the link."""
from __future__ import annotations

import subprocess

from ..topology import Topology, split_ref
from .build import FAILED_LINE, port_name
from .node import LabError, LabNode

BURST = "15k"  # Mininet's burst for htb and tbf
TBF_LATENCY = "50ms"


def tc_lines(ifname: str, mbit: float, shaper: str) -> list[str]:
    rate = f"{mbit:g}mbit"
    if shaper == "tbf":
        return [f"qdisc replace dev {ifname} root tbf rate {rate} burst {BURST} latency {TBF_LATENCY}"]
    return [f"qdisc replace dev {ifname} root handle 5: htb default 1",
            f"class replace dev {ifname} parent 5: classid 5:1 htb rate {rate} burst {BURST}"]


def plan_shaping(topo: Topology, nodes: dict[str, LabNode], segs: dict[int, LabNode]
                 ) -> dict[LabNode, list[tuple[str, str]]]:
    """node -> [(tc batch line, where it came from)] for every shaped link."""
    out: dict[LabNode, list[tuple[str, str]]] = {}
    for link in topo.links:
        if link.bw is None:
            continue
        where = topo.where(link.line)
        for k, ref in enumerate(link.endpoints):
            node, ifname = split_ref(ref)
            out.setdefault(nodes[node], []).extend((line, where) for line in tc_lines(ifname, link.bw, link.shaper))
            if link.index in segs and not link.tunnel:  # the bridge's side: towards the endpoint
                out.setdefault(segs[link.index], []).extend(
                    (line, where) for line in tc_lines(port_name(k), link.bw, link.shaper))
    return out


def run_shaping(plan: dict[LabNode, list[tuple[str, str]]]) -> None:
    running = []
    for node, lines in plan.items():
        proc = subprocess.Popen(["mnexec", "-a", str(node.pid), "tc", "-batch", "-"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        running.append((node, lines, proc))
    errors = []
    for node, lines, proc in running:
        _, err = proc.communicate("\n".join(line for line, _ in lines) + "\n")
        if proc.returncode != 0:
            m = FAILED_LINE.search(err)
            n = int(m.group(1)) - 1 if m and 0 < int(m.group(1)) <= len(lines) else 0
            why = (err[:m.start()] if m else err).strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
            errors.append(f"{lines[n][1]}: {node.name}: tc {lines[n][0]}: {why[0]}")
    if errors:
        raise LabError("; ".join(errors))
