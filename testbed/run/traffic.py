"""Run traffic steps in a built lab; crafted steps also record the ground truth.

Crafted kinds (tcp, udp, icmp, fragments, scan) are planned as exact packets
(traffic/plan.py), handed to one player per sending node, and the players'
send times become the truth the checks compare with. Real tools (ping,
iperf3, tcpreplay) run as they are; ping's packets are known, so they are
counted as truth too when every echo got its reply.
"""
from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..traffic import plan as P

START_LEAD_S = 0.3  # players start together this long after they are launched


@dataclass
class StepResult:
    summary: str  # the progress line's text
    ended: float  # unix time the step ended
    truth: dict = field(default_factory=dict)  # FlowId -> FlowTruth


def ends_of(topo, src_node: str, to: str) -> P.Ends:
    """Who talks to whom: `to` is a node (its address) or an address (maybe a node's)."""
    src = str(topo.address_of(src_node))
    if to in topo.nodes:
        return P.Ends(src_node, src, to, str(topo.address_of(to)))
    owner = next((n.name for n in topo.nodes.values()
                  if any(str(a.ip) == to for a in n.addresses)), None)
    return P.Ends(src_node, src, owner, to)


PLANNERS = {"tcp": P.plan_tcp, "udp": P.plan_udp, "icmp": P.plan_icmp, "fragments": P.plan_fragments}


def plan_for(lab, step) -> list[P.Planned]:
    args, topo = dict(step.args), lab.topology
    if "rate" in args:
        args["interval"] = 1.0 / args["rate"]
    if step.kind == "scan":
        targets = ([str(topo.address_of(t)) if t in topo.nodes else t for t in args["targets"]]
                   if args.get("targets") else None)
        ends = ends_of(topo, args["from"], targets[0] if targets else args["to"])
        return P.plan_scan(args, ends, targets)
    return PLANNERS[step.kind](args, ends_of(topo, args["from"], args["to"]))


def run_crafted(lab, step, workdir: Path) -> StepResult:
    plans = plan_for(lab, step)
    truth = P.truth_of(plans, step.index)
    start = time.time() + START_LEAD_S
    procs = []
    for node, mine in P.split_by_node(plans).items():
        plan_file = workdir / f"step{step.index}-{node}.plan.json"
        plan_file.write_text(json.dumps({"start": start, "packets": [[p.t, p.data.hex()] for p in mine]}))
        out = workdir / f"step{step.index}-{node}.sent.json"
        log = workdir / f"step{step.index}-{node}.player.log"
        with open(out, "wb") as f, open(log, "wb") as errors_to:  # files: a pipe could fill up
            proc = lab.node(node).popen([sys.executable, "-m", "testbed.traffic.player", str(plan_file)],
                                        stdout=f, stderr=errors_to)
        procs.append((node, mine, proc, out, log))
    errors = []
    deadline = time.time() + max(p.t for p in plans) + 60
    for node, mine, proc, out, log in procs:
        try:
            proc.wait(timeout=max(1.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            for *_, other, _, _ in procs:
                other.kill()
            raise RuntimeError(f"traffic player in {node} did not finish in time") from None
        try:
            result = json.loads(out.read_text())
        except (OSError, ValueError):
            err = log.read_text(errors="replace").strip()[-500:]
            raise RuntimeError(f"traffic player in {node} failed: {err}") from None
        errors += [f"{node}: packet {i}: {msg}" for i, msg in result["errors"]]
        for p, sent in zip(mine, result["sent"]):
            if sent is None:
                continue
            t = truth[P.flow_of(p.data)]
            t.first = sent if t.first is None else min(t.first, sent)
            t.last = sent if t.last is None else max(t.last, sent)
    if errors:
        raise RuntimeError("sending failed: " + "; ".join(errors[:5]))
    n = sum(t.packets for t in truth.values())
    return StepResult(f"{n} packets in {len(truth)} flows", time.time(), truth)


PING_RECEIVED = re.compile(r"(\d+) packets transmitted, (\d+) received")


def run_ping(lab, step) -> StepResult:
    ends = ends_of(lab.topology, step.get("from"), step.get("to"))
    count, size = step.get("packets", 3), step.get("size", 56)
    interval, tos = step.get("interval", 0.2), step.get("tos", 0)
    argv = ["ping", "-n", "-q", "-c", str(count), "-i", str(interval), "-s", str(size),
            "-W", "2", "-Q", str(tos), ends.dst]
    first = time.time()
    done = lab.node(ends.src_node).run(argv, check=False)
    last = time.time()
    m = PING_RECEIVED.search(done.stdout)
    sent, received = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    truth = {}
    if m and sent == received == count:  # every packet known: request and reply
        octets = 20 + 8 + size
        for src, dst, dport, node in ((ends.src, ends.dst, 8 * 256, ends.src_node),
                                      (ends.dst, ends.src, 0, ends.dst_node or "")):
            fid = P.FlowId(src, dst, 0, dport, 1, tos)
            truth[fid] = P.FlowTruth(fid, node, count, count * octets, first, last, step.index)
    return StepResult(f"ping {ends.dst}: {sent} sent, {received} received", last, truth)


def run_iperf3(lab, step) -> StepResult:
    ends = ends_of(lab.topology, step.get("from"), step.get("to"))
    port = str(step.get("dport", 5201))
    server = lab.node(ends.dst_node).popen(["iperf3", "-s", "-1", "-p", port])
    time.sleep(0.3)  # the server must listen before the client connects
    # iperf3 reads -t as a whole number of seconds (and 0 as "forever"): round up
    seconds = max(1, math.ceil(step.get("duration")))
    argv = ["iperf3", "-c", ends.dst, "-p", port, "-t", str(seconds), "-J"]
    if step.get("proto") == "udp":
        argv.append("-u")
    if step.get("bitrate"):
        argv += ["-b", step.get("bitrate")]
    if step.get("parallel"):
        argv += ["-P", str(step.get("parallel"))]
    if step.get("reverse"):
        argv.append("-R")
    if step.get("tos"):
        argv += ["-S", str(step.get("tos"))]
    done = lab.node(ends.src_node).run(argv, check=False)
    server.wait(timeout=10)
    try:
        sent = json.loads(done.stdout)["end"]["sum_sent"]["bytes"]
    except (ValueError, KeyError):
        raise RuntimeError(f"iperf3 failed: {(done.stderr or done.stdout).strip()[-300:]}") from None
    return StepResult(f"iperf3 {ends.dst}: {sent} bytes", time.time())


def run_replay(lab, step, workdir: Path) -> StepResult:
    """tcpreplay a capture into an interface, with MACs set so the router accepts it."""
    ref = step.get("interface")
    node_name, ifname = ref.split(":")
    node = lab.node(node_name)
    iface = lab.topology.interface(ref)
    peer = _peer_mac(lab, iface)
    mine = json.loads(node.run(["ip", "-j", "link", "show", "dev", ifname]).stdout)[0]["address"]
    rewritten = workdir / f"step{step.index}.pcap"
    rw = ["tcprewrite", f"--infile={step.get('file')}", f"--outfile={rewritten}",
          f"--enet-smac={mine}", f"--enet-dmac={peer}", "--fixcsum"]
    node.run(rw)
    argv = ["tcpreplay", "-q", f"--intf1={ifname}"]
    if step.get("pps"):
        argv.append(f"--pps={step.get('pps')}")
    elif step.get("speed"):
        argv.append(f"--multiplier={step.get('speed')}")
    else:
        argv.append("--topspeed")
    if step.get("loop"):
        argv.append(f"--loop={step.get('loop')}")
    node.run(argv + [str(rewritten)])
    return StepResult(f"replayed {Path(step.get('file')).name} into {ref}", time.time())


def _peer_mac(lab, iface) -> str:
    link = lab.topology.links[iface.link]
    other = next(r for r in link.endpoints if r != iface.ref)
    onode, oif = other.split(":")
    return json.loads(lab.node(onode).run(["ip", "-j", "link", "show", "dev", oif]).stdout)[0]["address"]
