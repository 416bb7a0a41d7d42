"""`python -m testbed compare LAB.yaml ... --exporter netflow-lab --exporter softflowd@9 ... [-j N]
[--junit F] [--json F] [--format text|markdown|json] [--artifacts DIR]`: each lab once per
exporter, and a conformance matrix ready for an upstream bug report (versions of the
exporters and of the machine, per FAIL the command that runs that cell again, the exact
argv and config files, the files to attach).

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
import re
import sys
from pathlib import Path

from ..lab.scratch import scratch
from ..plan.cli import exporter_arg
from .cli import EXPORTER_KINDS, INTERRUPTED, _writable_file
from .many import terminated_as_interrupt

DEFAULT = list(EXPORTER_KINDS)
FORMATS = ("text", "markdown", "json")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("compare", help="run labs once per exporter; print a conformance matrix")
    p.add_argument("labs", nargs="+", metavar="LAB", help="lab files (YAML)")
    p.add_argument("--exporter", action="append", type=exporter_arg, metavar="KIND[@VERSION]",
                   help="an exporter to run each lab with, in VERSION (softflowd@10: a column of its own; "
                        f"repeatable; default: {' '.join(DEFAULT)}, each in the file's version)")
    p.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="runs at once (default 1)")
    p.add_argument("--junit", metavar="FILE", help="JUnit XML: a testsuite per lab and exporter (n/a: skipped)")
    p.add_argument("--json", metavar="FILE", help="the matrix as JSON")
    p.add_argument("--format", choices=FORMATS, default="text",
                   help="what stdout gets: text (default), markdown (a bug report) or json; with "
                        "markdown or json the progress lines go to stderr")
    p.add_argument("--artifacts", metavar="DIR",
                   help="keep every run's artifacts in DIR/<lab>-<exporter>/ (records, captures, logs) and, "
                        "per FAIL, the collector lines its check looked at: the files to attach")
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
    if args.artifacts and Path(args.artifacts).exists() and not Path(args.artifacts).is_dir():
        return _fail(f"--artifacts {args.artifacts}: exists and is not a directory")
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
        with terminated_as_interrupt():  # a CI runner's SIGTERM: each child tears its own lab down
            return _compare(args, exporters, bases, skip)
    except KeyboardInterrupt:
        print("python -m testbed compare: interrupted; the labs were torn down", file=sys.stderr)
        return INTERRUPTED


def ran_with(launches: dict) -> tuple[dict, dict]:
    """(probe -> argv of each process it started, probe -> {config file name: text}) of a run's
    Launches: what a bug report quotes."""
    return ({n: [list(p.argv) for x in ls for p in x.processes] for n, ls in launches.items()},
            {n: {Path(path).name: text for x in ls for path, text in x.files.items()} for n, ls in launches.items()})


def _run_dir(artifacts: str, name: str, kind: str) -> str:
    return str(Path(artifacts) / re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{name}-{kind}"))


def _compare(args, exporters: list[str], bases: dict, skip: dict) -> int:
    from ..expect.verdict import Status, not_applicable
    from ..exporters import parse_exporter
    from ..exporters.version import version_of
    from ..report import junit, matrix_markdown
    from ..report.artifacts import cell_files
    from ..report.environment import environment
    from ..report.matrix import LabRun, Matrix, render, to_json
    from .many import run_jobs
    from .runner import RunResult

    progress = sys.stdout if args.format == "text" else sys.stderr
    say = lambda line: print(line, file=progress, flush=True)  # noqa: E731
    names = [bases[lab].name for lab in args.labs]
    name_of = {lab: bases[lab].name if names.count(bases[lab].name) == 1 else lab for lab in args.labs}

    def argv(lab: str, kind: str) -> list[str]:
        out = ["--exporter", kind] + (["--state-dir", str(args.state_dir)] if args.state_dir else [])
        return out + (["--artifacts", _run_dir(args.artifacts, name_of[lab], kind)] if args.artifacts else [])

    todo = [(lab, argv(lab, kind)) for lab in args.labs for kind in exporters if (lab, kind) not in skip]
    say(f"[compare] {len(args.labs)} labs x {len(exporters)} exporters: {len(todo)} runs, "
        f"{args.jobs} at a time" + (f"; {len(skip)} not run (n/a)" if skip else ""))

    def show(lab, argv, status, result, output) -> str:
        kind = argv[1]
        if result is None:
            return f"[{kind}] {lab}: could not run (exit {status}):\n{output[-1500:]}"
        bad = sum(v.status == Status.FAIL for v in result.verdicts)
        na = sum(v.status == Status.NA for v in result.verdicts)
        return (f"[{kind}] {lab}: {len(result.verdicts) - bad - na} pass, {bad} fail, {na} n/a "
                f"in {result.seconds:.1f} s")

    with scratch("netflow-lab-compare-") as folder:  # names its owner: `testbed clean` finds it stale
        done = run_jobs(todo, args.jobs, folder, say=say, show=show)
    m = Matrix(exporters, environment=environment(), versions={k: version_of(parse_exporter(k)[0]) for k in exporters})
    results = []
    runs = iter(zip(todo, done))
    for lab in args.labs:
        name, checks = name_of[lab], tuple(c.name for c in bases[lab].expect)
        for kind in exporters:
            folder = _run_dir(args.artifacts, name, kind) if args.artifacts else None
            if (lab, kind) in skip:
                verdicts = [not_applicable(c.name, c.kind, skip[lab, kind]) for c in bases[lab].expect]
                result = RunResult(name, verdicts)
                m.runs[name, kind] = LabRun(name, lab, kind, checks, ran=False)
            else:
                (_, _), (_, status, result) = next(runs)
                if result is not None:
                    m.runs[name, kind] = LabRun(name, lab, kind, checks, *ran_with(result.launches), folder)
                else:
                    m.runs[name, kind] = LabRun(name, lab, kind, checks, artifacts=folder)
                    m.broken[name, kind] = f"exit {status} (its output is above)"
                    continue
            m.add(name, kind, result.verdicts)
            result.lab = f"{name}[{kind}]"
            results.append(result)
            if folder and Path(folder).is_dir():
                selects = {c.name: c.selects for c in bases[lab].expect}
                for v in result.verdicts:
                    if v.status == Status.FAIL and v.name in selects:
                        m.attach[name, v.name, kind] = [str(p) for p in cell_files(Path(folder), v.name,
                                                                                    selects[v.name])]
    if args.format == "text":
        print()
    print({"text": render, "markdown": matrix_markdown.render, "json": to_json}[args.format](m).rstrip("\n"))
    if args.json:
        Path(args.json).write_text(to_json(m))
    if args.junit:
        junit.write(results, args.junit)
    return 2 if m.broken else 0 if m.passed else 1
