"""`python -m testbed validate FILE...`: check lab files without root or building anything;
`python -m testbed gen line --routers N`: write a generated lab file;
`python -m testbed labs [conformance]`: where the ready labs are.

validate exits 0 if every file is valid, 2 otherwise; one line per problem on
stderr, `file:line: yaml.path: message`, so editors can jump to it.
"""
from __future__ import annotations

import argparse
import sys

from ..schema.errors import TopologyError
from . import gen
from .load import load

INVALID = 2


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("validate", help="check lab files (no root needed)",
                              description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="*", metavar="FILE", help="a lab file (YAML)")
    add_custom_options(p)
    p.add_argument("--exporter", metavar="KIND", choices=("netflow-lab", "softflowd", "pmacctd", "fprobe"),
                   help="check the files as if every probe were this exporter kind (as run --exporter does)")
    p.add_argument("--explain", action="store_true",
                   help="print every step and check with its effective values (defaults applied)")
    p.set_defaults(func=run)
    g = subparsers.add_parser("gen", help="write a generated lab file (e.g. a line of N routers)",
                              description=gen.__doc__.splitlines()[0])
    g.add_argument("shape", choices=["line"], help="line: h1 - r1 - ... - rN - h2")
    g.add_argument("--routers", type=int, required=True, metavar="N")
    g.add_argument("--probes", default="all", metavar="all|none|1,5,10",
                   help="which routers run a probe (default all)")
    g.add_argument("--packets", type=int, default=20, metavar="N", help="packets of the UDP flow")
    g.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    g.set_defaults(func=run_gen)
    b = subparsers.add_parser("labs", help="print the paths of the ready labs (topologies/), installed or not")
    b.add_argument("under", nargs="?", default="",
                   help="a folder of them (conformance, faults, field-bugs) or one lab's name (quickstart)")
    b.set_defaults(func=run_labs)
    return p


def run_labs(args: argparse.Namespace) -> int:
    """One path a line (for `$(python -m testbed labs conformance)`)."""
    from .bundled import home, labs
    found = labs(args.under)
    if not found:
        where = home()
        print(f"python -m testbed labs: no lab {args.under!r} in "
              f"{where / 'topologies' if where else 'this installation (no topologies/ found)'}", file=sys.stderr)
        return INVALID
    print("\n".join(map(str, found)))
    return 0


def add_custom_options(p) -> None:
    """Mininet's --custom/--topo, and the lab-file fragment that says what to run on it."""
    p.add_argument("--custom", metavar="FILE.py",
                   help="a Python file with a Mininet Topo (its `topos` dict, as mininet's --custom): "
                        "the lab's nodes and links")
    p.add_argument("--topo", metavar="NAME[,ARG...]", help="which topo of --custom (and its arguments)")
    p.add_argument("--expect", metavar="FILE",
                   help="with --custom: a lab file without nodes and links (collectors, probes, traffic, expect)")


def custom_lab(args) -> tuple[str, object] | None:
    """(a label, the lab) of --custom/--topo/--expect; None without --custom. Raises
    TopologyError (naming the Python and expect lines) or ValueError (the options)."""
    if not args.custom:
        if args.topo or args.expect:
            raise ValueError("--topo and --expect go with --custom FILE.py")
        return None
    if getattr(args, "labs", None) or getattr(args, "files", None):
        raise ValueError("give lab files or --custom, not both")
    if not args.topo:
        raise ValueError("--custom needs --topo NAME (a key of the file's `topos`)")
    from .mininet_topo import from_topo, load_custom
    topo = from_topo(load_custom(args.custom, args.topo), args.expect, exporter=getattr(args, "exporter", None))
    return f"{args.custom}:{args.topo}", topo


def run_gen(args: argparse.Namespace) -> int:
    try:
        text = gen.line(args.routers, args.probes, args.packets)
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


def explain_links(topo) -> list[str]:
    """The addresses a link's subnet: or pool: gave its endpoints, and how a link is shaped."""
    out = []
    for link in topo.links:
        parts = []
        if link.subnet is not None:
            given = [f"{ref} = {a}" for ref in link.endpoints for a in topo.interface(ref).addresses
                     if a.ip in link.subnet]
            origin = f"pool {link.pool}: {link.subnet}" if link.pool else f"subnet {link.subnet}"
            parts.append(f"{origin}: " + ", ".join(given))
        if link.bw is not None:
            parts.append(f"bw {link.bw:g} Mbit/s each way ({link.shaper})")
        if parts:
            out.append(f"links[{link.index}] {topo.where(link.line)} ({' -- '.join(link.endpoints)}): "
                       + "; ".join(parts))
    return out


def run(args: argparse.Namespace) -> int:
    try:
        custom = custom_lab(args)
    except TopologyError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return INVALID
    except (ValueError, OSError) as exc:
        print(f"python -m testbed validate: error: {exc}", file=sys.stderr)
        return INVALID
    if custom is None and not args.files:
        print("python -m testbed validate: error: give a lab file (or --custom FILE.py --topo NAME)", file=sys.stderr)
        return INVALID
    status = 0
    for name in args.files or [custom[0]]:
        try:
            topo = custom[1] if custom else load(name, exporter=args.exporter)
        except TopologyError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            status = INVALID
            continue
        except OSError as exc:
            print(f"{name}: {exc.strerror}", file=sys.stderr)
            status = INVALID
            continue
        counts = [(len(topo.nodes), "node"), (len(topo.links), "link"), (len(topo.probes), "probe"),
                  (len(topo.traffic), "step"), (len(topo.expect), "check")]
        print(f"{name}: ok: {topo.name}: " + ", ".join(f"{n} {w}{'s' * (n != 1)}" for n, w in counts))
        if args.explain:
            for line in explain_links(topo):
                print(f"  {line}")
            for what, entries in (("traffic", topo.traffic), ("expect", topo.expect)):
                for e in entries:
                    print(f"  {what}[{e.index}] {topo.where(e.line)}: {e.explain()}")
    return status
