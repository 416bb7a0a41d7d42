"""How each exporter of a run ran, as HTML: its kind, the NetFlow version it exported,
the options the lab set, and for each start the exact command lines, how it was
stopped and every config file it was given (what a bug report to its authors needs).
Element ids: `exporter-NAME` (prefixed)."""
from __future__ import annotations

from .markup import esc


def section(result, prefix: str = "") -> str:
    plan = result.plan
    out = []
    for name, launches in result.launches.items():
        e = plan.exporters.get(name) if plan is not None else None
        title = f"{name} ({e.kind}, NetFlow version {e.spec.version}) on {e.node}" if e else name
        out.append(f'<h3 id="{esc(prefix)}exporter-{esc(name)}">{esc(title)}</h3>')
        if e is not None and e.spec.options is not None and e.spec.options.shown():
            out.append(f'<p class="meta">options: {esc(e.spec.options.shown())}</p>')
        for run, launch in enumerate(launches, 1):
            out.append(f"<p>run {run}:</p><pre>{esc(chr(10).join(launch.describe()))}</pre>")
    return "".join(out) or '<p class="note">No exporter ran.</p>'
