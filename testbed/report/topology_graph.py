"""The lab's topology drawn by Graphviz `dot`: nodes with their interfaces
(addresses, ifindexes), links, where each probe watches and where it exports.

Each node is a small table, one row per interface (name, addresses, kernel
ifindex, and what the probe exports for it when that differs), so a link
joins the two interface rows it connects. A probe is a row of its router
listing the interfaces it watches (drawn bold); a collector a row of its
node; a dashed arrow goes from each probe to each collector it exports to.
Element ids: `topo`, `topo-node-NAME`, `topo-link-N`, `topo-export-PROBE-N`
(prefixed with the lab's). Without `dot` the report keeps the table
(`rows()`) and says the drawing is missing.
"""
from __future__ import annotations

import shutil
import subprocess
from html import escape

DOT_TIMEOUT_S = 30
FONT = "DejaVu Sans"


def rows(plan) -> list[tuple[str, str, str, str]]:
    """(interface ref, addresses, ifindex text, what is there) per interface, for the table."""
    topo, index = plan.topology, ifindexes(plan)
    probes = {(p.node, i): p.name for p in topo.probes.values() for i in p.interfaces}
    out = []
    for node in topo.nodes.values():
        for i in node.interfaces:
            role = f"probe {probes[(node.name, i.name)]}" if (node.name, i.name) in probes else ""
            out.append((i.ref, ", ".join(str(a) for a in i.addresses) or "-", index[i.ref], role))
    return out


def ifindexes(plan) -> dict[str, str]:
    """Interface ref -> its kernel ifindex (planned, or pinned by the file), with
    what the probe exports for it when the two differ (above 65535, or overridden)."""
    exported: dict[str, int] = {}
    for e in plan.exporters.values():
        exported.update(e.facts.ifindexes)
    out = {}
    for ref, idx in plan.ifindexes.items():
        shown = exported.get(ref, idx)
        out[ref] = str(idx) if shown == idx else f"{idx}, exported as {shown}"
    return out


def dot_source(plan, prefix: str = "") -> str:
    topo, index = plan.topology, ifindexes(plan)
    lines = [f'graph "{_q(topo.name)}" {{',
             f'  graph [id="{prefix}topo", rankdir=LR, bgcolor="transparent", nodesep=0.35, ranksep=0.9, '
             f'fontname="{FONT}"];',
             f'  node [shape=plain, fontname="{FONT}", fontsize=10];',
             f'  edge [fontname="{FONT}", fontsize=8, color="#555555", labelfontsize=8, labeldistance=2.2, '
             'labelfontcolor="#333333"];']
    for node in topo.nodes.values():
        lines.append(f'  "{_q(node.name)}" [id="{prefix}topo-node-{_q(node.name)}", '
                     f'label=<{_table(topo, node)}>];')
    for link in topo.links:  # a link is a small node of its own: labels on edges get room
        hub = f"link{link.index}"
        label = _subnet(topo, link) + ("\\nvxlan" if link.tunnel else "")
        lines.append(f'  "{hub}" [id="{prefix}topo-link-{link.index}", shape=box, style="rounded{",dashed" if link.tunnel else ""}", '
                     f'fontsize=8, fontcolor="#555555", color="#999999", margin="0.05,0.02", label="{label}"];')
        for n, ref in enumerate(link.endpoints):  # first -> link -> the others: left to right
            ends = (f'"{_q(ref.partition(":")[0])}"', f'"{hub}"')
            lines.append(f'  {" -- ".join(ends if n == 0 else ends[::-1])} [label="{_end(topo, ref, index)}"];')
    for p in topo.probes.values():
        for n, e in enumerate(p.export):
            c = topo.collectors.get(e.collector or "")
            if c is None:
                continue
            lines.append(f'  "{_q(p.node)}" -- "{_q(c.node)}" '
                         f'[id="{prefix}topo-export-{_q(p.name)}-{n}", dir=forward, style=dashed, '
                         f'color="#2171b5", fontcolor="#2171b5", constraint=false, label="NetFlow v5 ({_q(p.name)})"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(plan, prefix: str = "") -> str | None:
    """The topology as an <svg> element; None when `dot` is not installed or fails."""
    dot = shutil.which("dot")
    if dot is None:
        return None
    try:
        done = subprocess.run([dot, "-Tsvg"], input=dot_source(plan, prefix), text=True,
                              capture_output=True, timeout=DOT_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 or "<svg" not in done.stdout:
        return None
    return done.stdout[done.stdout.index("<svg"):]


def _table(topo, node) -> str:
    fill = "#e8eef8" if node.is_router else "#f3f3f3"
    out = [f'<table border="1" cellborder="0" cellspacing="0" cellpadding="4" bgcolor="{fill}" color="#777777">',
           f'<tr><td><b>{escape(node.name)}</b> <font color="#666666">{node.kind}</font></td></tr>']
    for p in topo.probes.values():
        if p.node == node.name:
            to = ", ".join(e.collector or str(e) for e in p.export)
            out.append(f'<tr><td bgcolor="#c6dbef">probe <b>{escape(p.name)}</b> on '
                       f'{escape(", ".join(p.interfaces))} &#8594; {escape(to)}</td></tr>')
    for c in topo.collectors.values():
        if c.node == node.name:
            out.append(f'<tr><td bgcolor="#fdd0a2">collector <b>{escape(c.name)}</b> {escape(str(c))}</td></tr>')
    out.append("</table>")
    return "".join(out)


def _subnet(topo, link) -> str:
    if link.subnet is not None:
        return str(link.subnet)
    nets = {a.network for ref in link.endpoints for a in topo.interface(ref).addresses[:1]}
    return ", ".join(sorted(map(str, nets)))


def _end(topo, ref: str, index: dict[str, str]) -> str:
    """An edge's end: `eth0 10.0.1.1/24 #2` (each address on its own line)."""
    i = topo.interface(ref)
    lines = [f"{i.name} #{index.get(ref, '?')}", *(str(a) for a in i.addresses)]
    return "\\n".join(_q(line) for line in lines)  # \\n: a line break in a DOT label


def _q(text: str) -> str:
    """Inside a DOT double-quoted string."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"')
