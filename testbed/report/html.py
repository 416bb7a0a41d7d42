"""The HTML report of a run: one self-contained file, no scripts, no fonts, no network.

A lab's section holds the verdict table (each check linked to its picture),
the flow timeline, a sequence chart per exporter and engine, the topology,
how each exporter ran (launches.py) and the statistics. `page()` wraps one section, or several (a run of many
labs) under a summary table. Every element id in a section starts with the
lab's name (`quickstart-lane-3`), so sections can share a page; the same lab
again on one page (two runs of it) gets `quickstart~2-` in front instead.
Element ids: `LAB-checks`, `LAB-check-NAME` (a row; class pass|fail),
`LAB-timeline`, `LAB-sequence`, `LAB-topology`, `LAB-exporters`, `LAB-statistics`, and those
the pictures give (timeline.py, sequence_chart.py, topology_graph.py,
statistics.py).
"""
from __future__ import annotations

import re
import time
from collections import Counter

from . import lanes as L
from . import launches, sequence_chart, statistics, timeline, topology_graph
from .markup import Raw, attrs, clock, count, esc, table

CSS = """
body { font-family: system-ui, 'DejaVu Sans', sans-serif; margin: 0 auto; max-width: 1200px; padding: 1em 1.5em;
       color: #222; background: #fff; font-size: 14px; }
h1 { font-size: 1.5em; margin: 0.2em 0; } h2 { font-size: 1.2em; margin-top: 1.6em;
  border-bottom: 1px solid #ddd; } h3 { font-size: 1em; margin: 1em 0 0.3em; }
.status { padding: 0.1em 0.5em; border-radius: 3px; color: #fff; font-size: 0.8em; vertical-align: middle; }
.PASSED, .PASS { background: #238b45; } .FAILED, .FAIL { background: #cb181d; } .ERROR { background: #555; }
.NA { background: #969696; }
.meta, .note { color: #666; } nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: 0.4em 0; } th, td { padding: 0.25em 0.6em; text-align: left;
  vertical-align: top; border-bottom: 1px solid #eee; } th { background: #f6f6f6; }
table.verdicts td.observed { font-family: 'DejaVu Sans Mono', monospace; font-size: 0.85em; }
tr.fail td { background: #fff5f5; } ul.problems { margin: 0.2em 0 0 1.2em; padding: 0; color: #a50f15; }
.hint { color: #7f2704; } table.stats td:not(:first-child) { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 0.5em 0; overflow-x: auto; } figure svg { max-width: 100%; height: auto; }
:target { outline: 2px solid #fd8d3c; } ul.events li { margin: 0.15em 0; }
section.lab + section.lab { margin-top: 3em; border-top: 3px solid #ccc; }
pre { background: #f6f6f6; padding: 0.5em 0.8em; overflow-x: auto; font-size: 0.85em; white-space: pre-wrap; }
div.side { display: inline-block; vertical-align: top; margin-right: 2em; max-width: 100%; overflow-x: auto; }
"""


def page(sections: list[str], title: str, summary: str = "") -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>\n"
            + summary + "\n".join(sections) + "\n</body></html>\n")


def many_page(entries: list[tuple]) -> str:
    """A page for a run of several labs: (lab, exit status, RunResult or None, its section)
    each; a summary table first, then every section (or why the lab has none)."""
    rows, sections, statuses, runs = [], [], [], Counter()
    for lab, code, result, section in entries:
        status = "ERROR" if result is None or code not in (0, 1) else "PASSED" if code == 0 else "FAILED"
        statuses.append(status)
        passed = sum(v.passed for v in result.verdicts) if result else 0
        runs[lab] += 1
        own = lab if runs[lab] == 1 else f"{lab}~{runs[lab]}"
        if own != lab:
            section = _renamed(section, lab, own)
        link = f"#{own}-lab" if section else None
        rows.append([Raw(f'<a href="{esc(link)}">{esc(lab)}</a>' if link else esc(lab)),
                     Raw(f'<span class="status {status}">{status}</span>'),
                     f"{passed}/{len(result.verdicts)}" if result else f"exit status {code}"])
        sections.append(section or f'<section class="lab"><h1>lab {esc(lab)}</h1><p class="note">'
                        f"It could not run or draw (exit status {code}): its output says why.</p></section>")
    head = (f"<h1>{len(rows)} labs: {statuses.count('PASSED')} passed</h1>"
            + table(["lab", "result", "checks passed"], rows, id="labs"))
    return page(sections, f"netflow-lab: {len(rows)} labs", head)


def _renamed(section: str, lab: str, own: str) -> str:
    """The section with its ids `LAB-...` (and Graphviz's `LAB&#45;...`) renamed `OWN-...`."""
    forms = {f"{lab}-": f"{own}-", f"{lab}-".replace("-", "&#45;"): f"{own}-".replace("-", "&#45;")}
    found = re.compile(r'(\sid="|url\(#|href="#)(' + "|".join(map(re.escape, forms)) + ")")
    return found.sub(lambda m: m.group(1) + forms[m.group(2)], section)


def section(result) -> str:
    p = f"{result.lab}-"
    tl = L.build(result) if result.topology is not None else L.Timeline([], 0, {}, {})
    streams = sequence_chart.streams(result)
    charted = sequence_chart.charted(streams)
    window = _window(tl, streams)  # both kinds of chart share their time axis
    parts = [_header(result, p), _verdicts(result, tl, streams, charted, p),
             f'<h2 id="{p}timeline">Flow timeline</h2>', _timeline(tl, p, window),
             f'<h2 id="{p}sequence">Export sequence</h2>', _sequences(streams, charted, p, window),
             f'<h2 id="{p}topology">Topology</h2>', _topology(result, p),
             f'<h2 id="{p}exporters">Exporters</h2>', launches.section(result, p),
             f'<h2 id="{p}statistics">Statistics</h2>',
             '<div class="side">' + statistics.probes(result, p) + "</div>"
             '<div class="side">' + statistics.collectors(result, p) + "</div>"]
    return f'<section class="lab"{attrs(id=p + "lab")}>' + "\n".join(parts) + "</section>"


def _header(result, p: str) -> str:
    total = len(result.verdicts)
    passed = sum(v.passed for v in result.verdicts)
    status = "PASSED" if result.passed else "FAILED"
    topo = result.topology
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(time.time() - result.seconds))
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in result.phases.items())
    out = [f'<header><h1>lab {esc(result.lab)} <span class="status {status}">{status}</span></h1>',
           f'<p class="meta">{passed}/{total} checks passed in {result.seconds:.1f} s'
           f' &middot; run {esc(result.run_id or "?")} &middot; {when}'
           + (f" &middot; {esc(topo.source)}" if topo is not None else "") + "</p>"]
    if phases:
        out.append(f'<p class="meta">phases: {esc(phases)}</p>')
    if topo is not None and topo.description:
        out.append(f"<p>{esc(topo.description.strip())}</p>")
    out.append("<nav>" + "".join(f'<a href="#{p}{a}">{t}</a>' for a, t in (
        ("checks", "checks"), ("timeline", "flow timeline"), ("sequence", "export sequence"),
        ("topology", "topology"), ("exporters", "exporters"), ("statistics", "statistics"))) + "</nav></header>")
    return "\n".join(out)


def _verdicts(result, tl: L.Timeline, streams, charted: set[str], p: str) -> str:
    checks = {c.name: c for c in (result.topology.expect if result.topology is not None else ())}
    rows = []
    for v in result.verdicts:
        href, what = _picture(v, checks.get(v.name), tl, streams, charted, p)
        text = esc(v.observed or (f"does not apply: {v.na}" if v.na else ""))
        if not v.passed:
            text += '<ul class="problems">' + "".join(f"<li>{esc(x)}</li>" for x in v.problems) + "</ul>"
            if v.hint:
                text += f'<div class="hint">&gt; {esc(v.hint.strip())}</div>'
        look = "na" if v.na else "pass" if v.passed else "fail"  # n/a: nothing failed, nothing judged
        rows.append(f'<tr{attrs(id=f"{p}check-{v.name}", class_=look)}>'
                    f'<td><span class="status {look.upper()}">{esc(v.status)}</span></td>'
                    f'<td>{esc(v.name)}<br><small class="meta">{esc(v.kind)}</small></td>'
                    f'<td class="observed">{text}</td><td><a href="#{esc(href)}">{esc(what)}</a></td></tr>')
    head = "<tr><th></th><th>check</th><th>observed</th><th>picture</th></tr>"
    return (f'<h2 id="{p}checks">Checks</h2><table class="verdicts"><thead>{head}</thead><tbody>'
            + "".join(rows) + "</tbody></table>")


def _picture(v, check, tl: L.Timeline, streams, charted: set[str], p: str) -> tuple[str, str]:
    """Where a check's picture is: (element id, link text)."""
    if v.kind == "sequence":
        mine = [s for s in streams if check is None or not s.probe or s.probe == check.probe]
        marked = [f"{s.id}-{suffix}" for s in mine if s.id in charted for suffix, _ in s.events()]
        if marked:
            return p + marked[0], f"{len(marked)} marked in the sequence chart"
        if mine:  # a chart's heading, or its row in the table of the others
            return p + mine[0].id, "sequence chart" if mine[0].id in charted else "sequence table"
        return p + "sequence", "sequence"
    if v.kind in ("findings", "no_malformed"):
        return p + "statistics", "collector statistics"
    if v.kind == "probe":
        return p + "statistics", "probe statistics"
    lanes = tl.by_check.get(v.name, [])
    if lanes:
        n = len(lanes)
        return p + lanes[0], f"{'lane' if n == 1 else f'{n} lanes'} in the timeline"
    return p + "timeline", "timeline"


def _window(tl: L.Timeline, streams) -> tuple[float, float] | None:
    """From the first packet or datagram to the last, or the end of a window."""
    times = [t for lane in tl.lanes for t in lane.sent] + [b.recv for lane in tl.lanes for b in lane.bars]
    times += [w.hi for lane in tl.lanes for w in lane.windows]
    times += [d.t for s in streams for d in (*s.received, *s.sent)] + [i.t for s in streams for i in s.impairments]
    return (min(times), max(times)) if times else None


def _timeline(tl: L.Timeline, p: str, window) -> str:
    if not tl.lanes:
        return '<p class="note">No flow was sent by crafted traffic or exported.</p>'
    note = (f'<p class="note">Summarised: {tl.hidden} more flows are not drawn (failed and checked flows come '
            f'first; every record is in records-*.jsonl of --artifacts).</p>' if tl.hidden else "")
    dense = timeline.summarised(tl)
    if dense:
        note += f'<p class="note">Summarised: {esc("; ".join(dense))}.</p>'
    return (f'<figure>{timeline.draw(tl, p, window)}</figure>{note}'
            '<p class="note">Times are the send times of the traffic players and the collector\'s receive '
            'times; record bars run from the first to the last packet as the record says. The reason is the '
            'probe\'s own (its --records-file); "?" when it wrote none.</p>')


def _sequences(streams, charted: set[str], p: str, window) -> str:
    if not streams:
        return '<p class="note">No datagram arrived.</p>'
    out, rows = [], []
    for s in streams:
        if s.id not in charted:
            rows.append(f'<tr{attrs(id=p + s.id)}><td>{esc(s.title)}</td><td>{len(s.received)}</td>'
                        f'<td>{sum(d.count for d in s.received)}</td><td>{len(s.events())}</td></tr>')
            continue
        out.append(f'<h3 id="{p}{s.id}">{esc(s.title)}</h3><figure>{sequence_chart.draw(s, p, window)}</figure>')
        thinned = s.thinned()
        if thinned:
            out.append(f'<p class="note">Summarised: {esc("; ".join(thinned))}.</p>')
        events = [(suffix, d) for suffix, d in s.events() if int(suffix.rsplit("-", 1)[1]) < sequence_chart.MAX_MARKS]
        items = [f'<li{attrs(id=f"{p}{s.id}-{suffix}-text")}><a href="#{p}{s.id}-{suffix}">{esc(d.status)}</a>'
                 f' at {clock(d.t)}: flow_sequence {d.seq} ({count(d.count, "record")})'
                 + (f", {count(d.missing, 'record')} missing before it" if d.missing else "")
                 + (f": {esc(d.detail)}" if d.detail else "") + "</li>"
                 for suffix, d in events]
        lost = [d for d in s.sent if not d.arrived]
        items += [f"<li>sent by the probe at {clock(d.t)}, never received: flow_sequence {d.seq} "
                  f"({count(d.count, 'record')})</li>" for d in lost[:sequence_chart.MAX_MARKS]]
        more = len(s.events()) - len(events) + max(0, len(lost) - sequence_chart.MAX_MARKS)
        if more:
            items.append(f"<li>... and {more} more (every datagram is in the collector's JSON lines)</li>")
        out.append(f'<ul class="events">{"".join(items)}</ul>' if items else
                   '<p class="note">Every datagram in order.</p>')
    if rows:
        out.append(f'<p class="note">Summarised: {len(rows)} of {len(streams)} exporters without a chart (at most '
                   f'{sequence_chart.MAX_CHARTS}; those with a gap, duplicate, reorder, reset or lost datagram '
                   'come first).</p><table class="stats"><thead><tr><th>exporter</th><th>datagrams</th>'
                   '<th>records</th><th>marked</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>")
    return "\n".join(out)


def _topology(result, p: str) -> str:
    topo = result.topology
    if topo is None:
        return '<p class="note">No topology (the run was read back from JSON).</p>'
    drawing = topology_graph.draw(result.plan, p)
    fig = (f"<figure>{drawing.svg}</figure>" if drawing.svg else
           f'<p class="note">{esc(drawing.why)}: no drawing, the table below has it all.</p>')
    if drawing.summary:
        fig += f'<p class="note">Summarised: the drawing leaves out {esc("; ".join(drawing.summary))}.</p>'
    rows = topology_graph.rows(result.plan)
    return fig + table(["interface", "addresses", "ifindex", "watched by"], [list(r) for r in rows],
                       class_="interfaces")
