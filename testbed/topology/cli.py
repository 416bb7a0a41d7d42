"""`python -m testbed gen line --routers N`: write a generated lab file;
`python -m testbed labs [conformance]`: where the ready labs are."""
from __future__ import annotations

import argparse
import sys

from . import gen
from .bundled import home, labs

INVALID = 2


def add_parser(subparsers) -> None:
    g = subparsers.add_parser("gen", help="write a generated lab file (e.g. a line of N routers)",
                              description=gen.__doc__.splitlines()[0])
    g.add_argument("shape", choices=["line"], help="line: h1 - r1 - ... - rN - h2")
    g.add_argument("--routers", type=int, required=True, metavar="N")
    g.add_argument("--probes", default="all", metavar="all|none|1,5,10",
                   help="which routers run a probe (default all)")
    g.add_argument("--packets", type=int, default=20, metavar="N", help="packets of the UDP flow")
    g.add_argument("--export", choices=["mgmt", "inband"], default="mgmt",
                   help="mgmt: every router on a management segment with c1 (default); inband: c1 off the "
                        "last router, export along the line (a line spread over servers)")
    g.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    g.set_defaults(func=run_gen)
    b = subparsers.add_parser("labs", help="print the paths of the ready labs (topologies/), installed or not")
    b.add_argument("under", nargs="?", default="",
                   help="a folder of them (conformance, faults, field-bugs) or one lab's name (quickstart)")
    b.set_defaults(func=run_labs)


def run_labs(args: argparse.Namespace) -> int:
    """One path a line (for `$(python -m testbed labs conformance)`)."""
    found = labs(args.under)
    if not found:
        where = home()
        print(f"python -m testbed labs: no lab {args.under!r} in "
              f"{where / 'topologies' if where else 'this installation (no topologies/ found)'}", file=sys.stderr)
        return INVALID
    print("\n".join(map(str, found)))
    return 0


def run_gen(args: argparse.Namespace) -> int:
    try:
        text = gen.line(args.routers, args.probes, args.packets, export=args.export)
    except ValueError as exc:
        print(f"python -m testbed gen: error: {exc}", file=sys.stderr)
        return INVALID
    if args.output:
        try:
            with open(args.output, "w") as f:
                f.write(text)
        except OSError as exc:
            print(f"python -m testbed gen: error: {args.output}: {exc.strerror}", file=sys.stderr)
            return INVALID
    else:
        sys.stdout.write(text)
    return 0


