"""`python -m testbed validate FILE...`: check lab files without root or building anything:
each is read and resolved into the plan a run would execute (`--explain` prints it).

validate exits 0 if every file is valid, 2 otherwise; one line per problem on
stderr, `file:line: yaml.path: message`, so editors can jump to it.
"""
from __future__ import annotations

import argparse
import sys

from ..exporters import KINDS, parse_exporter
from ..schema.errors import TopologyError
from ..topology.servers import PLACEMENTS, servers_from_option
from . import load_plan, resolve, spread
from .explain import explain

INVALID = 2


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("validate", help="check lab files (no root needed)",
                              description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="*", metavar="FILE", help="a lab file (YAML)")
    add_custom_options(p)
    p.add_argument("--exporter", metavar="KIND[@VERSION]", type=exporter_arg,
                   help="check the files as if every probe were this exporter kind (as run --exporter does; "
                        f"{', '.join(KINDS)}), in VERSION (e.g. softflowd@9)")
    p.add_argument("--explain", action="store_true",
                   help="print the run plan: every interface (ifindex, MAC, addresses), collector, tap and "
                        "exporter (its command line for each start, files, what its records must carry), "
                        "then every step and check with its effective values (defaults applied)")
    add_server_options(p)
    p.set_defaults(func=run)


def add_server_options(p: argparse.ArgumentParser) -> None:
    """--servers and --place, as `run` and `validate` take them."""
    p.add_argument("--servers", metavar="NAME=HOST,...", type=_servers,
                   help="spread the lab over these machines, reached over SSH ([USER@]HOST[:PORT]; localhost: this "
                        "one) instead of the file's servers:")
    p.add_argument("--place", choices=PLACEMENTS, help="how nodes without server: are placed (default: the file's "
                                                        "placement:, else explicit)")


def _servers(text: str):
    try:
        return servers_from_option(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--servers: ")) from None


def exporter_arg(text: str) -> str:
    """--exporter KIND[@VERSION] (validate, run, compare), checked: argparse prints the reason."""
    try:
        parse_exporter(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_custom_options(p) -> None:
    """Mininet's --custom/--topo, and the lab-file fragment that says what to run on it."""
    p.add_argument("--custom", metavar="FILE.py",
                   help="a Python file with a Mininet Topo (its `topos` dict, as mininet's --custom): "
                        "the lab's nodes and links")
    p.add_argument("--topo", metavar="NAME[,ARG...]", help="which topo of --custom (and its arguments)")
    p.add_argument("--expect", metavar="FILE",
                   help="with --custom: a lab file without nodes and links (collectors, probes, traffic, expect)")


def custom_lab(args, files: list[str]) -> tuple[str, object] | None:
    """(a label, the lab) of --custom/--topo/--expect, resolved as a run would (every problem at
    its Python or expect line); None without --custom. `files`: the lab files also given (an
    error). Raises TopologyError or ValueError."""
    if not args.custom:
        if args.topo or args.expect:
            raise ValueError("--topo and --expect go with --custom FILE.py")
        return None
    if files:
        raise ValueError("give lab files or --custom, not both")
    if not args.topo:
        raise ValueError("--custom needs --topo NAME (a key of the file's `topos`)")
    from ..topology.mininet_topo import from_topo, load_custom, mapped  # Mininet: only for --custom
    topo = spread(from_topo(load_custom(args.custom, args.topo), args.expect, exporter=args.exporter),
                  args.servers, args.place)
    try:
        resolve(topo)
    except TopologyError as exc:
        raise TopologyError([mapped(p, topo.origins) for p in exc.problems]) from None
    return f"{args.custom}:{args.topo}", topo


def run(args: argparse.Namespace) -> int:
    try:
        custom = custom_lab(args, args.files)
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
            plan = (resolve(custom[1]) if custom else
                    load_plan(name, exporter=args.exporter, servers=args.servers, placement=args.place))
        except TopologyError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            status = INVALID
            continue
        except OSError as exc:
            print(f"{name}: {exc.strerror}", file=sys.stderr)
            status = INVALID
            continue
        topo = plan.topology
        counts = [(len(topo.nodes), "node"), (len(topo.links), "link"), (len(topo.probes), "probe"),
                  (len(topo.traffic), "step"), (len(topo.expect), "check")]
        print(f"{name}: ok: {topo.name}: " + ", ".join(f"{n} {w}{'s' * (n != 1)}" for n, w in counts))
        if args.explain:
            print("\n".join(explain(plan)))
    return status
