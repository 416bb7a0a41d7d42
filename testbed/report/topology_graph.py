"""The lab's topology drawn by Graphviz `dot`: nodes with their interfaces
(addresses, ifindexes), links, where each probe watches and where it exports.

Each node is a small table, one row per interface (name, addresses, kernel
ifindex, and what the probe exports for it when that differs), so a link
joins the two interface rows it connects. A probe is a row of its router
listing the interfaces it watches (drawn bold); a collector a row of its
node; a dashed arrow goes from each probe to each collector it exports to.
Element ids: `topo`, `topo-node-NAME`, `topo-link-N`, `topo-export-PROBE-N`
(prefixed with the lab's). Without `dot` the report keeps the table
(`rows()`) and says the drawing is missing, or that dot ran out of time.

Big labs are summarised, not waited for: dot's crossing minimisation takes
minutes once one node has many edges (a 100-router line whose routers share
one management segment: 40 s at 40 routers, the 30 s timeout at 100). A
segment of more than MAX_ENDS endpoints is drawn as its box alone, and more
than MAX_EXPORTS export arrows are left out (each probe's row names its
collectors); `Drawing.summary` says what was left out. A 200-router line
lays out in 0.1 s.
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from html import escape

DOT_TIMEOUT_S = 10
FONT = "DejaVu Sans"
MAX_ENDS = 8  # endpoints of a segment drawn with its links
MAX_EXPORTS = 12  # export arrows drawn


@dataclass(frozen=True)
class Drawing:
    svg: str | None  # None: no drawing, `why` says why
    why: str = ""
    summary: tuple[str, ...] = ()  # what the drawing leaves out


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


def left_out(topo) -> tuple[str, ...]:
    """What the drawing leaves out of a big lab (see the module's doc)."""
    out = [f"the {len(link.endpoints)} links of segment {_subnet(topo, link)} (its box stands alone; "
           "the table has every interface)" for link in topo.links if len(link.endpoints) > MAX_ENDS]
    exports = _exports(topo)
    if exports > MAX_EXPORTS:
        out.append(f"{exports} export arrows (each probe's row names its collectors)")
    return tuple(out)


def dot_source(plan, prefix: str = "") -> str:
    topo, index = plan.topology, ifindexes(plan)
    arrows = _exports(topo) <= MAX_EXPORTS
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
        if len(link.endpoints) > MAX_ENDS:
            label += f"\\n{len(link.endpoints)} endpoints"
        lines.append(f'  "{hub}" [id="{prefix}topo-link-{link.index}", shape=box, style="rounded{",dashed" if link.tunnel else ""}", '
                     f'fontsize=8, fontcolor="#555555", color="#999999", margin="0.05,0.02", label="{label}"];')
        if len(link.endpoints) > MAX_ENDS:
            continue
        for n, ref in enumerate(link.endpoints):  # first -> link -> the others: left to right
            ends = (f'"{_q(ref.partition(":")[0])}"', f'"{hub}"')
            lines.append(f'  {" -- ".join(ends if n == 0 else ends[::-1])} [label="{_end(topo, ref, index)}"];')
    for p in topo.probes.values() if arrows else ():
        for n, e in enumerate(p.export):
            c = topo.collectors.get(e.collector or "")
            if c is None:
                continue
            lines.append(f'  "{_q(p.node)}" -- "{_q(c.node)}" '
                         f'[id="{prefix}topo-export-{_q(p.name)}-{n}", dir=forward, style=dashed, '
                         f'color="#2171b5", fontcolor="#2171b5", constraint=false, label="NetFlow v5 ({_q(p.name)})"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(plan, prefix: str = "") -> Drawing:
    """The topology as an <svg> element, or why there is none."""
    dot = shutil.which("dot")
    if dot is None:
        return Drawing(None, "Graphviz (dot) is not installed")
    try:
        done = subprocess.run([dot, "-Tsvg"], input=dot_source(plan, prefix), text=True,
                              capture_output=True, timeout=DOT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return Drawing(None, f"Graphviz (dot) did not lay it out within {DOT_TIMEOUT_S} s")
    except OSError as exc:
        return Drawing(None, f"Graphviz (dot) could not run: {exc.strerror or exc}")
    if done.returncode != 0 or "<svg" not in done.stdout:
        return Drawing(None, f"Graphviz (dot) failed: {done.stderr.strip()[-200:] or f'exit {done.returncode}'}")
    return Drawing(done.stdout[done.stdout.index("<svg"):], summary=left_out(plan.topology))


def _exports(topo) -> int:
    """Export arrows a drawing would have: one per probe and collector of the lab."""
    return sum(1 for p in topo.probes.values() for e in p.export if topo.collectors.get(e.collector or ""))


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
