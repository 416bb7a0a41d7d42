"""`python -m testbed SUBCOMMAND ...`: each subcommand's module adds its own parser.

A module is imported only for the command that runs (`testbed collect`, the
referee, must not load Mininet or the probe); the others appear in --help
from the table below.
"""
from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS = {  # name -> (module with add_parser(subparsers), one-line help)
    "run": ("testbed.run.cli", "build a lab, run its traffic and checks, report"),
    "compare": ("testbed.run.compare", "run labs once per exporter; print a conformance matrix"),
    "validate": ("testbed.topology.cli", "check lab files (no root needed)"),
    "gen": ("testbed.topology.cli", "write a generated lab file (e.g. a line of N routers)"),
    "collect": ("testbed.collector.cli", "run the reference NetFlow v5 collector"),
    "replay": ("testbed.replay.cli", "replay a capture through a lab's live probe and the offline probe, compare"),
    "up": ("testbed.lab.cli", "build a lab and hold it until Ctrl-C"),
    "clean": ("testbed.lab.cli", "remove what crashed lab runs left behind"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m testbed", description="The NetFlow v5 lab's testbed.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    module = SUBCOMMANDS[chosen][0] if chosen in SUBCOMMANDS else None
    if module:
        importlib.import_module(module).add_parser(subparsers)
    for name, (mod, text) in SUBCOMMANDS.items():
        if mod != module:
            subparsers.add_parser(name, help=text)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
