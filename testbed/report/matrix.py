"""The conformance matrix of `testbed compare`: rows are checks, columns exporters.

A cell is PASS, FAIL with its key figure (what the check observed, else its
first problem) or n/a with the reason (the exporter does not claim what the
check relies on, or cannot run the lab at all). Full texts follow the table
as notes, so that a cell stays one short line.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..expect.verdict import NA
from ..schema.printable import printable

CELL = 44  # characters of a cell's text in the table


@dataclass
class Row:
    lab: str
    check: str
    cells: dict = field(default_factory=dict)  # exporter -> Verdict


@dataclass
class Matrix:
    exporters: list[str]
    rows: list[Row] = field(default_factory=list)
    broken: dict = field(default_factory=dict)  # (lab, exporter) -> why the run gave no result

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
        return [(r, e) for r in self.rows for e, v in r.cells.items() if v.status == "FAIL"]

    @property
    def passed(self) -> bool:
        """Every required cell passed (n/a cells are not required) and every run ran."""
        return not self.failed and not self.broken


def key_figure(v) -> str:
    if v.status == NA:
        return v.na
    if v.status == "PASS":
        return ""
    return v.observed or (v.problems[0] if v.problems else "failed")


def cell(v) -> str:
    if v is None:
        return "-"
    text = printable(f"{v.status} {key_figure(v)}".strip())
    return text if len(text) <= CELL else text[:CELL - 3] + "..."


def render(m: Matrix) -> str:
    """The matrix for a terminal: cells, labels and notes printable (no control character)."""
    labels = [printable(f"{r.lab} / {r.check}") for r in m.rows]
    width = max([len("lab / check"), *map(len, labels)])
    widths = {e: max([len(e), *(len(cell(r.cells.get(e))) for r in m.rows)]) for e in m.exporters}
    head = f"{'lab / check':<{width}}  " + "  ".join(f"{e:<{widths[e]}}" for e in m.exporters)
    body = [(f"{label:<{width}}  " + "  ".join(f"{cell(r.cells.get(e)):<{widths[e]}}"
                                                for e in m.exporters)).rstrip() for label, r in zip(labels, m.rows)]
    lines = [head.rstrip(), "-" * max(map(len, [head.rstrip(), *body])), *body]
    notes, whole = [], set()
    for lab in dict.fromkeys(r.lab for r in m.rows):
        for e in m.exporters:  # a lab the exporter could not run at all: one note
            reasons = {r.cells[e].na if e in r.cells else None for r in m.rows if r.lab == lab}
            if len(reasons) == 1 and None not in reasons and "" not in reasons:
                whole.add((lab, e))
                notes.append(f"[{e}] {lab}: every check n/a: {reasons.pop()}")
    for r in m.rows:
        for e in m.exporters:
            v = r.cells.get(e)
            if v is not None and v.status != "PASS" and (r.lab, e) not in whole:
                detail = [v.na] if v.na else ([v.observed] if v.observed else []) + list(v.problems)
                notes.append(f"[{e}] {r.lab} / {r.check}: {v.status}: " + "; ".join(detail))
    for (lab, e), why in m.broken.items():
        notes.append(f"[{e}] {lab}: did not run: {why}")
    if notes:
        lines += ["", "notes:"] + [f"  {printable(n)}" for n in notes]
    counts = {e: _count(m, e) for e in m.exporters}
    lines.append("")
    lines.append(("PASSED" if m.passed else "FAILED") + ": " + "; ".join(
        f"{e} {c['PASS']} pass, {c['FAIL']} fail, {c[NA]} n/a" for e, c in counts.items()))
    return "\n".join(lines)


def _count(m: Matrix, exporter: str) -> dict[str, int]:
    out = {"PASS": 0, "FAIL": 0, NA: 0}
    for r in m.rows:
        v = r.cells.get(exporter)
        if v is not None:
            out[v.status] += 1
    return out


def to_json(m: Matrix) -> str:
    return json.dumps({
        "exporters": m.exporters, "passed": m.passed,
        "rows": [{"lab": r.lab, "check": r.check,
                  "cells": {e: {"status": v.status, "key": key_figure(v), "observed": v.observed,
                                "problems": list(v.problems), "na": v.na} for e, v in r.cells.items()}}
                 for r in m.rows],
        "broken": [{"lab": lab, "exporter": e, "why": why} for (lab, e), why in m.broken.items()],
    }, indent=2) + "\n"
