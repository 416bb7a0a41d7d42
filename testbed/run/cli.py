"""`python -m testbed run LAB.yaml [LAB.yaml ...] [-j N] [--shard K/N] [--junit F] [--artifacts DIR]`.

Everything that can be checked is checked before anything is built: the lab
files, output paths, the run id, root. Exit status: 0 every check passed, 1
a check failed, 2 a file is invalid or a lab could not be built or run, 130
interrupted (Ctrl-C, after cleaning up).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import traceback
from pathlib import Path

from ..exporters import DEFAULT, KINDS, parse_exporter
from ..lab.scratch import scratch
from ..plan.cli import add_server_options, exporter_arg
from ..schema.printable import printable
from .many import terminated_as_interrupt

EXPORTER_KINDS = tuple(KINDS)  # what --exporter may name (a command needs its lab file's template)
RUN_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,15}$")  # as testbed.lab.Lab checks it
INTERRUPTED = 130


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("run", help="build a lab, run its traffic and checks, report")
    p.add_argument("labs", nargs="*", metavar="LAB", help="lab files (YAML)")
    from ..plan.cli import add_custom_options
    add_custom_options(p)
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML, one testcase per check")
    p.add_argument("--artifacts", metavar="DIR",
                   help="keep records, probe statistics, sequence report, captures and logs here "
                        "(several labs: DIR/<lab>/)")
    p.add_argument("--artifacts-on-failure", metavar="DIR",
                   help="keep the artifacts of each lab that did not pass in DIR/<lab>/ (nothing of a lab "
                        "that passed: what a CI job uploads when it fails)")
    p.add_argument("--report", metavar="FILE",
                   help="write an HTML report (checks, flow timeline, sequence charts, topology, "
                        "statistics; one self-contained file); --artifacts always holds report.html")
    p.add_argument("--quirk-on", action="store_true",
                   help="field-bug labs: run the probe with the quirk the file reproduces")
    p.add_argument("--probe-arg", action="append", default=[], metavar="ARG",
                   help="one more argument for every probe (repeatable)")
    p.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                   help="several labs: run N at once (default 1)")
    p.add_argument("--shard", metavar="K/N", help="run only the K-th of N slices of the labs (CI matrices)")
    p.add_argument("--run-id", help="use this run id (one lab only; default: a new random one)")
    p.add_argument("--state-dir", type=Path, default=None,
                   help="where the run's state file goes (default /run/netflow-lab)")
    p.add_argument("--exporter", metavar="KIND[@VERSION]", type=exporter_arg,
                   help="run every probe of the lab with this exporter kind instead of the file's "
                        f"({', '.join(EXPORTER_KINDS)}), in VERSION (e.g. softflowd@9; default the file's)")
    add_server_options(p)
    p.add_argument("--check", action="append", default=[], metavar="NAME",
                   help="judge only this check of the lab (repeatable; the whole traffic still runs): "
                        "what `compare` prints to reproduce one cell")
    p.add_argument("--result-json", metavar="FILE", help=argparse.SUPPRESS)  # for `run` of several labs
    p.add_argument("--report-section", metavar="FILE", help=argparse.SUPPRESS)  # ditto: its HTML section
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"python -m testbed run: error: {message}", file=sys.stderr)
    return 2


def _writable_file(path: str) -> str | None:
    """Why `path` cannot be written (None: it can)."""
    p = Path(path)
    if p.is_dir():
        return f"{path} is a directory"
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        return f"{path}: no such directory {parent}"
    if not os.access(parent, os.W_OK):
        return f"{path}: {parent} is not writable"
    return None


def check_args(args: argparse.Namespace) -> str | None:
    """The first problem with the options, before anything is built."""
    if args.jobs < 1:
        return f"-j must be at least 1, got {args.jobs}"
    if args.run_id is not None and not RUN_ID.match(args.run_id):
        return f"bad run id {args.run_id!r}: up to 16 of a-z, 0-9 and '-', starting with a letter or digit"
    if args.run_id is not None and len(args.labs) > 1:
        return "--run-id names one run: give one lab"
    for path in (args.junit, args.result_json, args.report, args.report_section):
        why = path and _writable_file(path)
        if why:
            return why
    if args.artifacts and args.artifacts_on_failure:
        return "--artifacts keeps every lab's artifacts, --artifacts-on-failure those of failed labs: give one"
    for option, given in (("--artifacts", args.artifacts), ("--artifacts-on-failure", args.artifacts_on_failure)):
        if not given:
            continue
        folder = Path(given)
        if folder.exists() and not folder.is_dir():
            return f"{option} {folder}: exists and is not a directory"
        existing = next((p for p in [folder, *folder.parents] if p.exists()), Path("."))
        if not os.access(existing, os.W_OK):
            return f"{option} {folder}: {existing} is not writable"
    if args.artifacts_on_failure:
        for lab in args.labs:
            mine = Path(args.artifacts_on_failure) / Path(lab).stem
            if mine.exists() and any(mine.iterdir()):
                return (f"--artifacts-on-failure: {mine} is not empty (a passing run removes it: "
                        "remove it first, or give another folder)")
    if os.geteuid() != 0:
        return "labs need root (network namespaces, veths, raw sockets): run it with sudo"
    return None


def _say(problem: str | None) -> bool:
    if problem:
        print(problem, file=sys.stderr)
    return bool(problem)


def only_checks(topo, names: list[str]):
    """(the lab judging only the checks `names`, why not: a name it has no check of, or None)."""
    if not names:
        return topo, None
    from dataclasses import replace
    have = [c.name for c in topo.expect]
    unknown = next((n for n in names if n not in have), None)
    if unknown is not None:
        return topo, f"--check {unknown}: no such check (checks: {', '.join(have) or 'none'})"
    return replace(topo, expect=tuple(c for c in topo.expect if c.name in names)), None


def run(args: argparse.Namespace) -> int:
    # imported here: the referee (`testbed collect`) must not load the probe's modules
    from ..plan import load_plan
    from ..plan.cli import custom_lab
    from ..topology import TopologyError
    from .many import shard

    try:
        custom = custom_lab(args, args.labs)
        labs = shard(list(args.labs), args.shard) if custom is None else [custom[0]]
    except TopologyError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:
        return _fail(str(exc))
    if not labs:
        return _fail(f"--shard {args.shard}: no lab falls in this slice" if args.labs
                     else "give a lab file (or --custom FILE.py --topo NAME)")
    topos, bad = {}, False
    for lab in labs:
        try:
            # the run resolves it again in its workdir
            topo = custom[1] if custom is not None else load_plan(
                lab, exporter=args.exporter, servers=args.servers, placement=args.place).topology
        except TopologyError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            bad = True
            continue
        except OSError as exc:
            print(f"{lab}: {exc.strerror}", file=sys.stderr)
            bad = True
            continue
        topos[lab], unknown = only_checks(topo, args.check)
        if args.quirk_on and args.exporter is not None and parse_exporter(args.exporter)[0] != DEFAULT:
            unknown = unknown or f"--quirk-on: quirks are {DEFAULT}'s, not {args.exporter}'s"
        elif args.quirk_on and topo.reproduces is None:
            unknown = unknown or "--quirk-on: the file names no quirk (reproduces: quirk: ID)"
        bad = _say(unknown and f"{lab}: {unknown}") or bad
    if bad:
        return 2
    problem = check_args(args)
    if problem:
        return _fail(problem)
    on_failure = Path(args.artifacts_on_failure) if args.artifacts_on_failure else None
    made = on_failure is not None and not on_failure.exists()
    if made and len(labs) > 1:
        on_failure.mkdir(parents=True)  # here, once: no lab's run removes it while another writes there
    try:
        if len(labs) == 1:
            return _run_one(args, labs[0], topos[labs[0]])
        with terminated_as_interrupt():  # each child tears its own lab down
            return _run_many(args, labs)
    except KeyboardInterrupt:
        print("python -m testbed run: interrupted; the lab was torn down", file=sys.stderr)
        return INTERRUPTED
    finally:
        if made and on_failure.is_dir() and not any(on_failure.iterdir()):
            on_failure.rmdir()  # every lab passed: nothing to upload


def _run_one(args: argparse.Namespace, path: str, topo) -> int:
    from ..lab.node import LabError
    from ..report import artifacts, junit, table
    from .many import result_json
    from .runner import Run

    extra = list(args.probe_arg) + (["--quirk", topo.reproduces.quirk] if args.quirk_on else [])
    say = lambda line: print(line, flush=True)  # noqa: E731
    folder = Path(args.artifacts).resolve() if args.artifacts else None  # services run elsewhere (cwd /)
    if args.artifacts_on_failure:  # kept as --artifacts would, removed again if the lab passes
        folder = (Path(args.artifacts_on_failure) / (topo.name if args.custom else Path(path).stem)).resolve()
    kw = {"state_dir": args.state_dir} if args.state_dir else {}
    try:
        # with --artifacts, the lab's workdir (collector output, logs, traffic plans)
        # is kept inside the folder, and captures are taken
        run = Run(topo, say=say, extra_probe_args=tuple(extra), run_id=args.run_id,
                  keep_workdir=folder / artifacts.WORKDIR if folder else None,
                  capture_dir=folder / artifacts.PCAPS if folder else None, **kw)
    except ValueError as exc:  # before anything is built
        return _fail(str(exc))
    try:
        result = run.execute()
    except (LabError, RuntimeError, OSError) as exc:
        print(printable(f"lab {topo.name} could not run: {exc}"), file=sys.stderr)  # a tool's output, maybe
        return 2
    except Exception:
        traceback.print_exc()
        return 2
    if args.artifacts_on_failure and result.passed:
        shutil.rmtree(folder, ignore_errors=True)  # this check made it (it had to be empty)
        folder = None
    print(table.render(result, color=sys.stdout.isatty()))
    if args.junit:
        junit.write([result], args.junit)
    if args.result_json:
        import json
        Path(args.result_json).write_text(json.dumps(result_json(result)))
    section = report_section(result) if folder or args.report or args.report_section else None
    if args.report_section:
        Path(args.report_section).write_text(section or "")
    if args.report and section is not None:
        from ..report.html import page
        Path(args.report).write_text(page([section], f"netflow-lab: {result.lab}"))
        print(f"report: {args.report}")
    if folder:
        artifacts.write(result, folder, section)
        print(f"artifacts: {folder}/ (index in {folder / artifacts.INDEX})")
    return 0 if result.passed else 1


def report_section(result) -> str | None:
    """The lab's HTML section; None (and one line on stderr) if drawing it failed:
    the run's verdicts stand whatever happens to its pictures."""
    from ..report import html
    try:
        return html.section(result)
    except Exception as exc:  # a bug in a picture must not cost the run's other outputs
        print(f"python -m testbed run: the HTML report failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        traceback.print_exc()
        return None


def _write_many_report(path: str, done, sections: list[Path]) -> None:
    """One page: a table of the labs, then each lab's section as its run wrote it."""
    from ..report.html import many_page
    entries = []
    for (lab, code, result), file in zip(done, sections):
        section = file.read_text() if file.exists() else ""
        entries.append((result.lab if result else Path(lab).stem, code, result, section))
    Path(path).write_text(many_page(entries))
    print(f"report: {path}")


def _run_many(args: argparse.Namespace, labs: list[str]) -> int:
    from ..report import junit
    from .many import run_many

    sections: list[Path] = []  # the HTML section each run writes (--report), in the order of labs

    def argv_of(lab: str) -> list[str]:
        out = [f"--probe-arg={a}" for a in args.probe_arg]
        if args.report:
            sections.append(Path(folder) / f"{len(sections)}-{Path(lab).stem}.section.html")
            out += ["--report-section", str(sections[-1])]
        if args.quirk_on:
            out.append("--quirk-on")
        if args.artifacts:
            out += ["--artifacts", str(Path(args.artifacts) / Path(lab).stem)]
        if args.artifacts_on_failure:
            out += ["--artifacts-on-failure", args.artifacts_on_failure]
        if args.state_dir:
            out += ["--state-dir", str(args.state_dir)]
        if args.exporter:
            out += ["--exporter", args.exporter]
        return out + [f"--check={c}" for c in args.check]

    print(f"[labs] {len(labs)} labs, {args.jobs} at a time", flush=True)
    with scratch("netflow-lab-runs-") as folder:
        done = run_many(labs, argv_of, args.jobs, folder, say=lambda s: print(s, flush=True))
        if args.report:
            _write_many_report(args.report, done, sections)
    results = [r for _, _, r in done if r is not None]
    failed = [lab for lab, code, r in done if code != 0]
    checks = sum(len(r.verdicts) for r in results)
    passed = sum(v.passed for r in results for v in r.verdicts)
    if args.junit:
        junit.write(results, args.junit)
    verdict = "FAILED" if failed else "PASSED"
    print(f"{verdict}: {len(labs) - len(failed)}/{len(labs)} labs passed, {passed}/{checks} checks"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    codes = {code for _, code, _ in done}
    return 0 if codes == {0} else (2 if 2 in codes or None in codes else 1)
