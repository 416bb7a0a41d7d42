"""`python -m testbed clean` and `python -m testbed up FILE`.

clean: tear down what crashed runs left behind, read from their state files
(runs whose Python process is still alive are left alone unless --force).
up: build a lab and hold it until Ctrl-C, to poke at it by hand.
"""
from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
from pathlib import Path

from ..topology import TopologyError, load
from .clean import clean
from .lab import Lab
from .scratch import clean_stale
from .state import STATE_DIR


def add_parser(subparsers) -> None:
    c = subparsers.add_parser("clean", help="remove what crashed lab runs left behind",
                              description="Stop the processes and nodes recorded in state "
                                          "files of runs that are gone, and only those.")
    c.add_argument("--run-id", help="only this run")
    c.add_argument("--force", action="store_true", help="even if the run's process is alive")
    c.add_argument("--state-dir", type=Path, default=STATE_DIR, help=f"default {STATE_DIR}")
    c.set_defaults(func=run_clean)
    u = subparsers.add_parser("up", help="build a lab and hold it until Ctrl-C",
                              description="Build the lab of FILE, print how to enter its "
                                          "nodes, and tear it down on Ctrl-C or SIGTERM.")
    u.add_argument("file", metavar="FILE")
    u.add_argument("--run-id")
    u.add_argument("--workdir", type=Path)
    u.add_argument("--state-dir", type=Path, default=STATE_DIR)
    u.set_defaults(func=run_up)


def run_clean(args: argparse.Namespace) -> int:
    notes, ok = clean(args.state_dir, args.run_id, args.force)
    if args.run_id is None:  # and what `run -j` and `compare` left when they were killed
        notes += clean_stale()
    for note in notes or ["nothing to clean"]:
        print(note)
    return 0 if ok else 1


def run_up(args: argparse.Namespace) -> int:
    try:
        topo = load(args.file)
    except TopologyError as exc:
        print(exc, file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("python -m testbed up: error: labs need root (network namespaces, veths): run it with sudo",
              file=sys.stderr)
        return 2
    try:
        with Lab(topo, run_id=args.run_id, workdir=args.workdir, state_dir=args.state_dir) as lab:
            print(f"lab {topo.name} is up: run {lab.run_id}, workdir {lab.folder}")
            for name, node in lab.nodes.items():
                ifs = ", ".join(f"{i['ifname']}={i['ifindex']}" for i in node.links()
                                if i["ifname"] != "lo")
                enter = ["mnexec", "-a", str(node.pid), "bash"]
                how = shlex.join(enter) if node.host.local else (  # a node on a server: over its SSH connection
                    f"{shlex.join(node.host.ssh_argv(tty=True))} {shlex.quote(node.host.remote_command(enter))}")
                print(f"  {name:<10} {how}    # {ifs}")
            print("Ctrl-C to tear it down", flush=True)
            signal.pause()
    except KeyboardInterrupt:
        pass
    return 0
