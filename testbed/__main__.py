"""`python -m testbed SUBCOMMAND ...`: each subcommand's module adds its own parser."""
from __future__ import annotations

import argparse
import sys

from testbed.collector import cli as collect_cli
from testbed.lab import cli as lab_cli
from testbed.run import cli as run_cli
from testbed.topology import cli as topology_cli

SUBCOMMANDS = (run_cli, topology_cli, collect_cli, lab_cli)  # each has add_parser(subparsers), which sets func=run(args) -> int


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testbed", description="The NetFlow v5 lab's testbed.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
