"""The conformance matrix of `testbed compare`: rows are checks, columns exporters.

A cell is PASS, FAIL with its key figure (what the check observed, else its
first problem) or n/a with the reason (the exporter does not claim what the
check relies on, or cannot run the lab at all). Full texts follow the table
as notes, so that a cell stays one short line. FAILs that one limit of the
exporter explains (Verdict.cause, from its kind's claims) share one numbered
cause, printed once. For an upstream bug report the matrix also carries how
each lab ran (the exporter's argv and config files, its artifacts), the
versions of the exporters and of the machine, and per cell the one command
that runs just that cell again: `render` (text), `to_json`, and
report/matrix_markdown.py.
"""
from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass, field

from ..expect.verdict import NA, Status
from ..exporters import KINDS, parse_exporter
from ..schema.printable import printable

CELL = 44  # characters of a cell's text in the table


@dataclass
class Row:
    lab: str
    check: str
    cells: dict = field(default_factory=dict)  # exporter -> Verdict


@dataclass(frozen=True)
class LabRun:
    """One lab run with one exporter, as compare made it."""

    lab: str  # the lab's name in the matrix
    path: str  # the lab file as compare was given it
    exporter: str
    checks: tuple[str, ...] = ()  # the lab file's own check names (`--check` takes these)
    commands: dict = field(default_factory=dict)  # probe -> [argv of each process it started]
    configs: dict = field(default_factory=dict)  # probe -> {config file name: text}
    artifacts: str | None = None  # its folder (compare --artifacts DIR)
    ran: bool = True  # False: the exporter cannot run the lab as written (every cell n/a)

    def reproduce(self, check: str | None = None) -> str:
        """One command line that makes this cell again (check None: the whole run)."""
        if not self.ran:  # the reason is a validate error
            return shlex.join(["python", "-m", "testbed", "validate", self.path, "--exporter", self.exporter])
        argv = ["python", "-m", "testbed", "run", self.path, "--exporter", self.exporter]
        return shlex.join(argv + (["--check", check] if check in self.checks else []))


@dataclass(frozen=True)
class Cause:
    """One limit of an exporter kind that explains several FAILs, in any of the columns
    of that kind (softflowd, softflowd@9, softflowd@10): said once."""

    number: int
    exporter: str  # the kind
    text: str
    cells: tuple[tuple[str, str, str], ...]  # (lab, check, column)

    def where(self) -> list[tuple[str, list[str]]]:
        """(lab / check, the columns it failed in), in row order."""
        out: dict[str, list[str]] = {}
        for lab, check, column in self.cells:
            out.setdefault(f"{lab} / {check}", []).append(column)
        return list(out.items())

    def columns(self) -> list[str]:
        return list(dict.fromkeys(column for _, _, column in self.cells))


@dataclass
class Matrix:
    exporters: list[str]
    rows: list[Row] = field(default_factory=list)
    broken: dict = field(default_factory=dict)  # (lab, exporter) -> why the run gave no result
    runs: dict = field(default_factory=dict)  # (lab, exporter) -> LabRun
    environment: object = None  # report.environment.Environment of the machine, when known
    versions: dict = field(default_factory=dict)  # exporter -> exporters.version.Version
    attach: dict = field(default_factory=dict)  # (lab, check, exporter) -> [files to attach]

    def add(self, lab: str, exporter: str, verdicts) -> None:
        """One run's verdicts (a lab with one exporter) into the rows, in the lab's check order."""
        index = {(r.lab, r.check): r for r in self.rows}
        for v in verdicts:
            row = index.get((lab, v.name))
            if row is None:
                row = index[lab, v.name] = Row(lab, v.name)
                self.rows.append(row)
            row.cells[exporter] = v

    @property
    def failed(self) -> list[tuple[Row, str]]:
        return [(r, e) for r in self.rows for e, v in r.cells.items() if v.status == Status.FAIL]

    @property
    def passed(self) -> bool:
        """Every required cell passed (n/a cells are not required) and every run ran."""
        return not self.failed and not self.broken

    def causes(self) -> list[Cause]:
        """FAILs grouped by the limit of an exporter kind that explains them (whatever the
        version of the column), numbered in row order."""
        groups: dict[tuple[str, str], list] = {}
        for r, e in self.failed:
            if r.cells[e].cause:
                groups.setdefault((kind_of(e), r.cells[e].cause), []).append((r.lab, r.check, e))
        return [Cause(n, e, text, tuple(cells)) for n, ((e, text), cells) in enumerate(groups.items(), 1)]

    def reproduce(self, lab: str, check: str, exporter: str) -> str | None:
        run = self.runs.get((lab, exporter))
        return run.reproduce(check) if run else None

    def notes_of(self, exporter: str) -> tuple[str, ...]:
        """What the exporter's kind says of itself (its claims' notes), kept in the code."""
        k = KINDS.get(kind_of(exporter))
        return k.claims().notes if k else ()


def kind_of(column: str) -> str:
    """The kind of a column (softflowd@9: softflowd)."""
    try:
        return parse_exporter(column)[0]
    except ValueError:
        return column


def key_figure(v) -> str:
    if v.status == NA:
        return v.na
    if v.status == Status.PASS:
        return ""
    return v.observed or (v.problems[0] if v.problems else "failed")


def cell(v, causes: dict | None = None) -> str:
    """A cell's short text; `causes`: cause text -> its number, shown as [N] on a FAIL."""
    if v is None:
        return "-"
    mark = f" [{causes[v.cause]}]" if causes and v.status == Status.FAIL and v.cause in causes else ""
    text = printable(f"{v.status}{mark} {key_figure(v)}".strip())
    return text if len(text) <= CELL else text[:CELL - 3] + "..."


def details(v, causes: dict | None = None) -> str:
    """A cell's whole text: n/a reason, or observed and problems (a shared cause by number)."""
    parts = [v.na] if v.na else ([v.observed] if v.observed else []) + list(v.problems)
    if v.cause:
        parts.append(f"cause [{causes[v.cause]}]" if causes and v.cause in causes else f"cause: {v.cause}")
    return "; ".join(parts)


def cause_numbers(m: Matrix) -> dict[str, dict[str, int]]:
    """column -> {cause text: number}."""
    out: dict[str, dict[str, int]] = {}
    for c in m.causes():
        for column in c.columns():
            out.setdefault(column, {})[c.text] = c.number
    return out


def placed(c: Cause, label: str, columns: list[str], quote: str = "") -> str:
    """A cell list entry of a cause: its lab / check, with its columns when the cause spans several."""
    return f"{quote}{label}{quote}" + (f" ({', '.join(columns)})" if len(c.columns()) > 1 else "")


def whole_labs(m: Matrix) -> dict[tuple[str, str], str]:
    """(lab, exporter) -> the one reason when every check of the lab is n/a for it."""
    out = {}
    for lab in dict.fromkeys(r.lab for r in m.rows):
        for e in m.exporters:
            reasons = {r.cells[e].na if e in r.cells else None for r in m.rows if r.lab == lab}
            if len(reasons) == 1 and None not in reasons and "" not in reasons:
                out[lab, e] = reasons.pop()
    return out


def render(m: Matrix) -> str:
    """The matrix for a terminal: cells, labels and notes printable (no control character)."""
    numbers = cause_numbers(m)
    labels = [printable(f"{r.lab} / {r.check}") for r in m.rows]
    width = max([len("lab / check"), *map(len, labels)])
    cells = {e: [cell(r.cells.get(e), numbers.get(e)) for r in m.rows] for e in m.exporters}
    widths = {e: max([len(e), *map(len, cells[e])]) for e in m.exporters}
    head = f"{'lab / check':<{width}}  " + "  ".join(f"{e:<{widths[e]}}" for e in m.exporters)
    body = [(f"{label:<{width}}  " + "  ".join(f"{cells[e][i]:<{widths[e]}}" for e in m.exporters)).rstrip()
            for i, label in enumerate(labels)]
    lines = _about(m) + [head.rstrip(), "-" * max(map(len, [head.rstrip(), *body])), *body]
    causes = m.causes()
    if causes:
        lines += ["", "causes (each explains these FAILs; the exporter's kind states it):"]
        for c in causes:
            lines.append(f"  [{c.number}] {', '.join(c.columns())}, {len(c.cells)} FAIL{'s' if len(c.cells) > 1 else ''}: "
                         f"{c.text}")
            lines.append("      " + ", ".join(placed(c, label, columns) for label, columns in c.where()))
    notes, whole = [], whole_labs(m)
    for (lab, e), why in whole.items():
        notes.append(f"[{e}] {lab}: every check n/a: {why}")
    for r in m.rows:
        for e in m.exporters:
            v = r.cells.get(e)
            if v is not None and v.status != Status.PASS and (r.lab, e) not in whole:
                notes.append(f"[{e}] {r.lab} / {r.check}: {v.status}: {details(v, numbers.get(e))}")
    for (lab, e), why in m.broken.items():
        notes.append(f"[{e}] {lab}: did not run: {why}")
    if notes:
        lines += ["", "notes:"] + [f"  {printable(n)}" for n in notes]
    lines += _reproduce(m)
    counts = {e: _count(m, e) for e in m.exporters}
    lines.append("")
    lines.append(("PASSED" if m.passed else "FAILED") + ": " + "; ".join(
        f"{e} {c[Status.PASS]} pass, {c[Status.FAIL]} fail, {c[NA]} n/a" for e, c in counts.items()))
    return "\n".join(lines)


def _about(m: Matrix) -> list[str]:
    """The machine and the exporters, when compare measured them."""
    if m.environment is None:
        return []
    lines = ["environment: " + ", ".join(f"{k} {v}" for k, v in m.environment.rows()), "exporters:"]
    for e in m.exporters:
        lines.append(f"  {m.versions.get(e, e)}")
        lines += [f"    - {n}" for n in m.notes_of(e)]
    return lines + [""]


def _reproduce(m: Matrix) -> list[str]:
    """Per FAIL: the one command that runs that cell again, what ran, what to attach."""
    failed = [(r, e) for r, e in m.failed if (r.lab, e) in m.runs]
    if not failed:
        return []
    lines = ["", "reproduce (each command runs one cell again):"]
    for r, e in failed:
        lines.append(f"  [{e}] {r.lab} / {r.check}: {m.reproduce(r.lab, r.check, e)}")
        files = m.attach.get((r.lab, r.check, e))
        if files:
            lines.append(f"      attach: {' '.join(files)}")
    lines += ["", "ran (the exact argv; config files in --format json/markdown):"]
    for lab, e in dict.fromkeys((r.lab, e) for r, e in failed):
        for probe, argvs in m.runs[lab, e].commands.items():
            lines += [f"  [{e}] {lab} {probe}: {shlex.join(argv)}" for argv in argvs]
    return lines


def _count(m: Matrix, exporter: str) -> dict[str, int]:
    out = {Status.PASS: 0, Status.FAIL: 0, NA: 0}
    for r in m.rows:
        v = r.cells.get(exporter)
        if v is not None:
            out[v.status] += 1
    return out


def to_json(m: Matrix) -> str:
    numbers = cause_numbers(m)

    def one(r: Row, e: str, v) -> dict:
        return {"status": v.status, "key": key_figure(v), "observed": v.observed, "problems": list(v.problems),
                "na": v.na, "cause": numbers.get(e, {}).get(v.cause) if v.cause else None,
                "reproduce": m.reproduce(r.lab, r.check, e), "attach": m.attach.get((r.lab, r.check, e), [])}

    return json.dumps({
        "exporters": m.exporters, "passed": m.passed,
        "environment": asdict(m.environment) if m.environment is not None else None,
        "exporter_info": {e: {"version": str(m.versions[e]) if e in m.versions else None,
                              **({"tool": m.versions[e].tool, "package": m.versions[e].package}
                                 if e in m.versions else {}),
                              "notes": list(m.notes_of(e))} for e in m.exporters},
        "rows": [{"lab": r.lab, "check": r.check, "cells": {e: one(r, e, v) for e, v in r.cells.items()}}
                 for r in m.rows],
        "causes": [{"number": c.number, "exporter": c.exporter, "text": c.text,
                    "cells": [{"lab": lab, "check": check, "exporter": e} for lab, check, e in c.cells]}
                   for c in m.causes()],
        "runs": [{"lab": run.lab, "path": run.path, "exporter": run.exporter, "ran": run.ran,
                  "reproduce": run.reproduce(), "commands": run.commands, "configs": run.configs,
                  "artifacts": run.artifacts} for run in m.runs.values()],
        "broken": [{"lab": lab, "exporter": e, "why": why} for (lab, e), why in m.broken.items()],
    }, indent=2) + "\n"
