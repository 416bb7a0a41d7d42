"""`python -m testbed run topo.yaml [--junit F] [--artifacts DIR]`.

Exit status: 0 every check passed, 1 a check failed, 2 the file is invalid
or the lab could not be built or run.
"""
from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path



def add_parser(subparsers) -> None:
    p = subparsers.add_parser("run", help="build a lab, run its traffic and checks, report")
    p.add_argument("topology", help="the lab file (YAML)")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML, one testcase per check")
    p.add_argument("--artifacts", metavar="DIR",
                   help="keep records, probe statistics, sequence report, captures and logs here")
    p.add_argument("--quirk-on", action="store_true",
                   help="field-bug labs: run the probe with the quirk the file reproduces")
    p.add_argument("--probe-arg", action="append", default=[], metavar="ARG",
                   help="one more argument for every probe (repeatable)")
    p.add_argument("--run-id", help="use this run id (default: a new random one)")
    p.add_argument("--state-dir", type=Path, default=None,
                   help="where the run's state file goes (default /run/netflow-lab)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imported here: the referee (`testbed collect`) must not load the probe's modules
    from ..lab.node import LabError
    from ..report import artifacts, junit, table
    from ..topology import TopologyError, load
    from .runner import Run

    try:
        topo = load(args.topology)
    except TopologyError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{args.topology}: {exc.strerror}", file=sys.stderr)
        return 2
    extra = list(args.probe_arg)
    if args.quirk_on:
        if topo.reproduces is None:
            print(f"{args.topology}: --quirk-on: the file names no quirk (reproduces: quirk: ID)",
                  file=sys.stderr)
            return 2
        extra += ["--quirk", topo.reproduces.quirk]
    say = lambda line: print(line, flush=True)  # noqa: E731
    folder = Path(args.artifacts) if args.artifacts else None
    kw = {"state_dir": args.state_dir} if args.state_dir else {}
    try:
        # with --artifacts, the lab's workdir (collector output, logs, traffic plans)
        # is kept inside the folder, and captures are taken
        run = Run(topo, say=say, extra_probe_args=tuple(extra), run_id=args.run_id,
                  keep_workdir=folder / artifacts.WORKDIR if folder else None,
                  capture_dir=folder / artifacts.PCAPS if folder else None, **kw)
    except ValueError as exc:  # before anything is built
        print(f"python -m testbed run: error: {exc}", file=sys.stderr)
        return 2
    try:
        result = run.execute()
    except (LabError, RuntimeError, OSError) as exc:
        print(f"lab {topo.name} could not run: {exc}", file=sys.stderr)
        return 2
    except Exception:
        traceback.print_exc()
        return 2
    print(table.render(result, color=sys.stdout.isatty()))
    if args.junit:
        junit.write(result, args.junit)
    if folder:
        artifacts.write(result, folder)
        print(f"artifacts: {folder}/ (index in {folder / artifacts.INDEX})")
    return 0 if result.passed else 1
