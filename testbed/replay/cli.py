"""`python -m testbed replay [CAPTURE] --lab LAB.yaml [--into WHERE] [--map CAPTURE=LAB] ...`

Builds the lab, replays the capture into it (the options are those of a
`kind: replay` step; without CAPTURE, the lab file's replay step), and runs
the same frames through the offline probe with the lab router's routes and
ifindexes. Prints whether the live records hold the ground truth
(conservation) and whether they agree with the offline ones. Exit status:
0 both hold, 1 a difference, 2 bad options or files, or the lab could not run.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..schema.printable import printable

PROG = "python -m testbed replay"
OPTION_OF = {"file": "CAPTURE", "into": "--into", "map": "--map", "speed": "--speed", "pps": "--pps",
             "loop": "--loop", "probe": "--probe"}  # a field of the step (or check) it makes


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("replay", help="replay a capture through a lab's live probe and the "
                                             "offline probe, and compare", description=__doc__.split("\n\n")[1])
    p.add_argument("capture", nargs="?", metavar="CAPTURE", help="a pcap or pcapng file "
                   "(default: the lab file's replay step)")
    p.add_argument("--lab", required=True, metavar="LAB.yaml", help="the lab to replay it in")
    p.add_argument("--into", action="append", default=[], metavar="WHERE",
                   help="r1:eth0 (every packet enters there), r1 (each where r1 routes its source), "
                        "or r1:eth0=PREFIX|NODE,... (repeatable: by source address)")
    p.add_argument("--map", action="append", default=[], metavar="CAPTURE=LAB",
                   help="capture prefix = lab prefix, node or address (repeatable)")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, metavar="N", help="N times the recorded speed")
    pace.add_argument("--pps", type=float, metavar="N", help="N packets per second")
    p.add_argument("--loop", type=int, metavar="N", help="send the capture N times")
    p.add_argument("--step", metavar="NAME", help="without CAPTURE: the lab's replay step of this name")
    p.add_argument("--probe", metavar="NAME", help="the probe to compare (default: the lab's only one)")
    p.add_argument("--artifacts", type=Path, metavar="DIR",
                   help="keep the workdir here: plan, offline inputs, records, logs")
    p.add_argument("--state-dir", type=Path, default=None, help="where the run's state file goes")
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def step_of(args: argparse.Namespace) -> dict:
    """The replay step the options describe (read like one in a lab file)."""
    step: dict = {"kind": "replay", "name": "replay", "file": str(Path(args.capture).resolve())}
    if not args.into:
        raise ValueError("--into: where the packets enter (r1:eth0, r1, or r1:eth0=PREFIX,...)")
    if len(args.into) == 1 and "=" not in args.into[0]:
        step["into"] = args.into[0]
    else:
        into = {}
        for text in args.into:
            ref, sep, sources = text.partition("=")
            if not sep or not sources:
                raise ValueError(f"--into {text}: with several, each is IF=PREFIX|NODE,...")
            into.setdefault(ref, []).extend(s for s in sources.split(",") if s)
        step["into"] = into
    if args.map:
        pairs = [m.partition("=") for m in args.map]
        bad = next((m for m, (_, sep, to) in zip(args.map, pairs) if not sep or not to), None)
        if bad:
            raise ValueError(f"--map {bad}: expected CAPTURE_PREFIX=LAB_PREFIX|NODE|ADDRESS")
        step["map"] = {a: b for a, _, b in pairs}
    for key in ("speed", "pps", "loop"):
        if getattr(args, key) is not None:
            step[key] = getattr(args, key)
    return step


def run(args: argparse.Namespace) -> int:
    from ..topology import TopologyError, read_checks, read_lab, read_steps

    try:
        text = Path(args.lab).read_text()
    except OSError as exc:
        return _fail(f"{args.lab}: {exc.strerror}")
    try:
        topo, known = read_lab(text, source=args.lab, base_dir=Path(args.lab).parent)
    except TopologyError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    try:
        if args.capture:
            (step,) = read_steps(known, [step_of(args)], 0, "command line")
        else:
            step = _lab_step(topo, args.step)
        probe = args.probe or (next(iter(topo.probes)) if len(topo.probes) == 1 else None)
        if probe not in topo.probes:
            raise ValueError(f"--probe: one of {', '.join(topo.probes) or '(none in the lab)'}")
        (check,) = read_checks(known, [{"name": "ground-truth", "kind": "conservation", "probe": probe}],
                               "command line")
    except TopologyError as exc:  # in the options: say which
        for p in exc.problems:
            option = OPTION_OF.get(p.path.split(".")[1] if "." in p.path else "", "options")
            print(f"{PROG}: error: {option}: {p.message}", file=sys.stderr)
        return 2
    except ValueError as exc:
        return _fail(str(exc))
    if os.geteuid() != 0:
        return _fail("labs need root (network namespaces, veths, raw sockets): run it with sudo")
    return _run(args, topo, step, probe, check)


def _lab_step(topo, name: str | None):
    steps = [s for s in topo.traffic if s.kind == "replay" and (name is None or s.name == name)]
    if len(steps) != 1:
        which = f"named {name!r}" if name else "(or name one with --step)"
        raise ValueError(f"give CAPTURE, or a lab with one replay step {which}: {topo.source} has "
                         f"{len(steps)}")
    return steps[0]


def _run(args, topo, step, probe: str, check) -> int:
    from ..lab.node import LabError
    from ..run.session import Session
    from .both import replay_both

    say = lambda line: print(line, flush=True)  # noqa: E731
    kw = {"state_dir": args.state_dir} if args.state_dir else {}
    try:
        with Session(topo, say=say, workdir=args.artifacts, **kw) as session:
            out = replay_both(session, step, probe, check)
    except (LabError, RuntimeError, OSError) as exc:
        print(printable(f"lab {topo.name} could not run: {exc}"), file=sys.stderr)  # a tool's output, maybe
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; the lab was torn down", file=sys.stderr)
        return 130
    t = out.truth
    print(f"{t.status}  ground truth vs live: {t.observed}")
    for p in t.problems if not t.passed else ():
        print(f"        - {p}")
    a = out.agreement.lines()
    print(f"{'AGREE' if out.agreement.agree else 'DIFFER'} live vs offline: {a[0]}")
    for line in a[1:]:
        print(f"      {line}")
    if args.artifacts:
        print(f"artifacts: {args.artifacts}/")
    return 0 if out.passed else 1
