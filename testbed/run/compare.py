"""`python -m testbed compare LAB.yaml ... --exporter netflow-lab --exporter softflowd@9 ... [-j N]
[--junit F] [--json F]`: each lab once per exporter, and a conformance matrix.

Each run is a child `python -m testbed run LAB --exporter KIND` (run/many.py:
its own run id, namespaces and cleanup), its verdicts read back as JSON. A lab
an exporter cannot run as written (a setting it cannot honour, a `control`
step) is not run for it: its cells are n/a with the reason, found when the lab
is read with that kind. Exit status: 0 when every required cell passed (n/a
cells are not required), 1 when one failed, 2 when a file or an option is
invalid or a run could not run, 130 when interrupted.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from ..plan.cli import exporter_arg
from .cli import EXPORTER_KINDS, INTERRUPTED, _writable_file

DEFAULT = list(EXPORTER_KINDS)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("compare", help="run labs once per exporter; print a conformance matrix")
    p.add_argument("labs", nargs="+", metavar="LAB", help="lab files (YAML)")
    p.add_argument("--exporter", action="append", type=exporter_arg, metavar="KIND[@VERSION]",
                   help="an exporter to run each lab with, in VERSION (softflowd@10: a column of its own; "
                        f"repeatable; default: {' '.join(DEFAULT)}, each in the file's version)")
    p.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="runs at once (default 1)")
    p.add_argument("--junit", metavar="FILE", help="JUnit XML: a testsuite per lab and exporter (n/a: skipped)")
    p.add_argument("--json", metavar="FILE", help="the matrix as JSON")
    p.add_argument("--state-dir", type=Path, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=compare)


def _fail(message: str) -> int:
    print(f"python -m testbed compare: error: {message}", file=sys.stderr)
    return 2


def compare(args: argparse.Namespace) -> int:
    import os

    from ..plan import load_plan
    from ..topology import TopologyError

    exporters = list(dict.fromkeys(args.exporter or DEFAULT))
    if args.jobs < 1:
        return _fail(f"-j must be at least 1, got {args.jobs}")
    for path in (args.junit, args.json):
        why = path and _writable_file(path)
        if why:
            return _fail(why)
    bases, skip = {}, {}
    for lab in args.labs:
        try:
            bases[lab] = load_plan(lab).topology
        except TopologyError as exc:
            print("\n".join(map(str, exc.problems)), file=sys.stderr)
            return 2
        except OSError as exc:
            return _fail(f"{lab}: {exc.strerror}")
        for kind in exporters:
            try:
                load_plan(lab, exporter=kind)
            except TopologyError as exc:  # valid as written: what this kind cannot do
                skip[lab, kind] = exc.problems[0].message
    if os.geteuid() != 0:
        return _fail("labs need root (network namespaces, veths, raw sockets): run it with sudo")
    try:
        return _compare(args, exporters, bases, skip)
    except KeyboardInterrupt:
        print("python -m testbed compare: interrupted; the labs were torn down", file=sys.stderr)
        return INTERRUPTED


def _compare(args, exporters: list[str], bases: dict, skip: dict) -> int:
    from ..expect.verdict import not_applicable
    from ..report import junit
    from ..report.matrix import Matrix, render, to_json
    from .many import run_jobs
    from .runner import RunResult

    todo = [(lab, ["--exporter", kind] + (["--state-dir", str(args.state_dir)] if args.state_dir else []))
            for lab in args.labs for kind in exporters if (lab, kind) not in skip]
    print(f"[compare] {len(args.labs)} labs x {len(exporters)} exporters: {len(todo)} runs, "
          f"{args.jobs} at a time" + (f"; {len(skip)} not run (n/a)" if skip else ""), flush=True)

    def show(lab, argv, status, result, output) -> str:
        kind = argv[1]
        if result is None:
            return f"[{kind}] {lab}: could not run (exit {status}):\n{output[-1500:]}"
        bad = sum(v.status == "FAIL" for v in result.verdicts)
        na = sum(v.status == "n/a" for v in result.verdicts)
        return (f"[{kind}] {lab}: {len(result.verdicts) - bad - na} pass, {bad} fail, {na} n/a "
                f"in {result.seconds:.1f} s")

    with tempfile.TemporaryDirectory(prefix="netflow-lab-compare-") as folder:
        done = run_jobs(todo, args.jobs, Path(folder), say=lambda s: print(s, flush=True), show=show)
    m = Matrix(exporters)
    results = []
    runs = iter(zip(todo, done))
    names = [bases[lab].name for lab in args.labs]
    for lab in args.labs:
        name = bases[lab].name if names.count(bases[lab].name) == 1 else lab
        for kind in exporters:
            if (lab, kind) in skip:
                verdicts = [not_applicable(c.name, c.kind, skip[lab, kind]) for c in bases[lab].expect]
                result = RunResult(name, verdicts)
            else:
                (_, _), (_, status, result) = next(runs)
                if result is None:
                    m.broken[name, kind] = f"exit {status} (its output is above)"
                    continue
            m.add(name, kind, result.verdicts)
            result.lab = f"{name}[{kind}]"
            results.append(result)
    print()
    print(render(m))
    if args.json:
        Path(args.json).write_text(to_json(m))
    if args.junit:
        junit.write(results, args.junit)
    return 2 if m.broken else 0 if m.passed else 1
