"""`validate --explain`: a run plan as text, everything a run would do, in the order it does it."""
from __future__ import annotations

import shlex

from .model import ExporterPlan, RunPlan


def explain(plan: RunPlan) -> list[str]:
    topo = plan.topology
    out = [f"  workdir {plan.workdir}"]
    spread = bool(topo.servers)
    if spread:
        out.append(f"  placement {topo.placement}")
        for s in plan.servers.values():
            where = "this machine" if s.local else f"ssh {s.server}, python {s.server.python or '(same path as here)'}"
            out.append(f"  server {s.name}: {where}, tunnel address {_address(s)}; files in {s.workdir}")
    for node in topo.nodes.values():
        on = f" on server {plan.placement[node.name]}" if spread and node.name in plan.placement else ""
        out.append(f"  node {node.name} ({node.kind}, {topo.at(node.line)}){on}")
        for i in node.interfaces:
            addresses = ", ".join(map(str, i.addresses)) or "no address"
            out.append(f"    {i.name}: ifindex {plan.ifindexes[i.ref]}, mac {plan.macs[i.ref]}, {addresses}, "
                       f"mtu {i.mtu}")
        for route in node.routes:
            out.append(f"    route {route}")
    for link in topo.links:
        tunnel = f" over {link.tunnel}" if link.tunnel else ""
        if link.index in plan.tunnels:
            tunnel = f" between servers, {plan.tunnels[link.index]}"
        out.append(f"  link {link.index} ({topo.at(link.line)}): {' - '.join(link.endpoints)}{tunnel}"
                   + "".join(f"; {p}" for p in _link(topo, link)))
    for c in (*plan.nfcapds.values(), *plan.collectors.values()):
        files = (", ".join(str(c.jsonl(n)) for n in range(1, c.starts + 1)) if c.collector.kind == "reference"
                 else f"{c.folder}, log {c.log}")
        out.append(f"  collector {c.name} ({c.collector.kind}) on {c.node} listens on {c.collector}: {files}")
    for t in plan.taps.values():
        out.append(f"  tap {t.probe} -> {t.collector} in {t.node}: listens on {t.listen[0]}:{t.listen[1]}, "
                   f"relays to {t.to[0]}:{t.to[1]}, log {t.log}")
    for e in plan.exporters.values():
        out += _exporter(e, topo)
    for what, entries in (("traffic", topo.traffic), ("expect", topo.expect)):
        for entry in entries:
            out.append(f"  {what}[{entry.index}] {topo.at(entry.line)}: {entry.explain()}")
    return out


def _link(topo, link) -> list[str]:
    """What a link's pool: or subnet: assigned its endpoints, and how it is shaped."""
    out = []
    if link.subnet is not None:
        given = [f"{ref} = {a}" for ref in link.endpoints for a in topo.interface(ref).addresses if a.ip in link.subnet]
        origin = f"pool {link.pool}: {link.subnet}" if link.pool else f"subnet {link.subnet}"
        out.append(f"{origin}: " + ", ".join(given))
    if link.bw is not None:
        out.append(f"bw {link.bw:g} Mbit/s each way ({link.shaper})")
    return out


def _exporter(e: ExporterPlan, topo) -> list[str]:
    s, c = e.spec, e.claims
    ports = ", ".join(f"{p.name} (ifindex {p.ifindex}, mac {p.mac})" for p in s.interfaces)
    out = [f"  exporter {e.name} ({e.kind}, {topo.at(e.probe.line)}) on {e.node}: captures {ports}; "
           f"sends to {', '.join(f'{h}:{p}' for h, p in s.collectors)}",
           f"    timeouts active {s.active_timeout:g} s, inactive {s.inactive_timeout:g} s, scan {s.scan:g} s; "
           f"engine {e.engine[0]}/{e.engine[1]}; datagrams from {', '.join(sorted(e.addresses))}; "
           f"judged on collector {e.collector or '(none)'}" + ("" if e.alone else " (shared: its datagrams only)"),
           f"    features: {', '.join(sorted(e.features)) or 'none'}; fills {', '.join(sorted(c.fills)) or 'nothing'}; "
           f"export window after a timeout {c.timer_window_s[0]:+g}..{c.timer_window_s[1]:+g} s"
           + (f"; requires {', '.join(sorted(e.probe.require))}" if e.probe.require else ""),
           "    records must carry ifindex " + ", ".join(f"{ref} = {n}" for ref, n in e.facts.ifindexes.items()),
           f"    exports NetFlow version {s.version}" + (f"; options: {s.options.shown()}"
                                                         if s.options is not None and s.options.shown() else "")
           + (f"; args: {shlex.join(s.args)}" if s.args else "")]
    for run in range(1, e.starts + 1):
        out.append(f"    start {run}:")
        out += [f"      {line}" for line in e.launch(run).describe()]
    return out


def _address(s) -> str:
    if s.server is not None and s.server.address is not None:
        return str(s.server.address)
    return "looked up when built" if not s.local else "the one towards the other servers"
