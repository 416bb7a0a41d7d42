"""The conformance matrix as Markdown, to paste into an upstream bug report: the machine
and the exporters' versions, the matrix, each shared cause once, then per FAIL what it
saw, the one command that runs that cell again, the exact argv and config files of
its run, and the files to attach (compare --artifacts)."""
from __future__ import annotations

import shlex

from ..expect.verdict import Status
from .matrix import NA, Matrix, cause_numbers, cell, details, placed, whole_labs


def esc(text: str) -> str:
    """Text in a table cell: no pipe or line break may end the cell early."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    return (["| " + " | ".join(map(esc, head)) + " |", "|" + "---|" * len(head)]
            + ["| " + " | ".join(map(esc, r)) + " |" for r in rows])


def fence(text: str, info: str = "") -> list[str]:
    ticks = "```" if "```" not in text else "````"
    return [f"{ticks}{info}", text.rstrip("\n"), ticks]


def render(m: Matrix) -> str:
    numbers = cause_numbers(m)
    out = [f"# NetFlow conformance: {', '.join(m.exporters)}", ""]
    verdict = "every required cell passed" if m.passed else f"{len(m.failed)} cells failed"
    out += [f"**{'PASSED' if m.passed else 'FAILED'}**: {verdict}"
            + (f"; {len(m.broken)} runs did not run" if m.broken else "") + ".", ""]
    if m.environment is not None:
        out += ["## Environment", ""] + table(["", "version"], [list(r) for r in m.environment.rows()]
                                               + [[e, m.versions[e].plain if e in m.versions else "?"] for e in m.exporters]) + [""]
    out += ["## Matrix", ""]
    rows = [[f"{r.lab} / {r.check}"] + [_cell(r.cells.get(e), numbers.get(e)) for e in m.exporters]
            for r in m.rows]
    out += table(["lab / check", *m.exporters], rows) + [""]
    causes = m.causes()
    if causes:
        out += ["## Causes", "", "Each explains every FAIL listed under it (as the exporter's kind states it):", ""]
        for c in causes:
            out += [f"{c.number}. **{', '.join(c.columns())}** ({len(c.cells)} FAIL{'s' if len(c.cells) > 1 else ''}): "
                    f"{c.text}", "   - " + ", ".join(placed(c, label, columns, "`") for label, columns in c.where())]
        out.append("")
    failed = m.failed
    if failed:
        out += ["## Failures", ""]
        for r, e in failed:
            v = r.cells[e]
            out += [f"### {e}: {r.lab} / {r.check}", "", details(v, numbers.get(e)), ""]
            if v.hint:
                out += [f"> {v.hint.strip()}", ""]
            command = m.reproduce(r.lab, r.check, e)
            if command:
                out += ["Reproduce this cell:", ""] + fence(command, "sh") + [""]
            files = m.attach.get((r.lab, r.check, e))
            if files:
                out += ["Attach: " + ", ".join(f"`{f}`" for f in files), ""]
    whole = whole_labs(m)
    na = [(r, e) for r in m.rows for e in m.exporters
          if e in r.cells and r.cells[e].status == NA and (r.lab, e) not in whole]
    if na or whole or m.broken:
        out += ["## Not applicable, not run", ""]
        out += [f"- {e}, `{lab}`: every check n/a: {why}" for (lab, e), why in whole.items()]
        out += [f"- {e}, `{r.lab} / {r.check}`: {r.cells[e].na}" for r, e in na]
        out += [f"- {e}, `{lab}`: did not run: {why}" for (lab, e), why in m.broken.items()]
        out.append("")
    out += _runs(m)
    out += _exporters(m)
    return "\n".join(out).rstrip("\n") + "\n"


def _cell(v, numbers) -> str:
    text = cell(v, numbers)
    return f"**{text}**" if v is not None and v.status == Status.FAIL else text


def _runs(m: Matrix) -> list[str]:
    """How each run with a FAIL ran: its argv and config files, its artifacts."""
    todo = [m.runs[k] for k in dict.fromkeys((r.lab, e) for r, e in m.failed) if k in m.runs]
    if not todo:
        return []
    out = ["## How the failing runs ran", ""]
    for run in todo:
        out += [f"### {run.exporter}: {run.lab}", ""] + fence(run.reproduce(), "sh") + [""]
        for probe, argvs in run.commands.items():
            out += [f"Probe `{probe}` ran:", ""] + fence("\n".join(shlex.join(a) for a in argvs)) + [""]
        for probe, files in run.configs.items():
            for name, text in files.items():
                out += [f"<details><summary>{probe}: {name}</summary>", ""] + fence(text) + ["", "</details>", ""]
        if run.artifacts:
            out += [f"Artifacts (records, captures, logs): `{run.artifacts}`", ""]
    return out


def _exporters(m: Matrix) -> list[str]:
    out = []
    for e in m.exporters:
        notes = m.notes_of(e)
        if notes:
            out += [f"- **{m.versions.get(e, e)}**"] + [f"  - {n}" for n in notes]
    return ["## What each exporter's kind says of it", ""] + out + [""] if out else []
