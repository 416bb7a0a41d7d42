"""`python -m testbed SUBCOMMAND ...`: each subcommand's module adds its own parser.

A module is imported only for the command that runs (`testbed collect`, the
referee, must not load Mininet or the probe); the others appear in --help
from the table below. Ctrl-C while the modules load (up to a second) ends it
with one line and status 130: nothing exists yet to undo; a command that
builds or starts something handles Ctrl-C itself from when it starts.
"""
from __future__ import annotations

import _signal  # the C module: `signal` itself takes milliseconds to import (its enums)
import os
import sys


def _interrupted(signum, frame) -> None:
    sys.stderr.write("python -m testbed: interrupted\n")
    os._exit(130)


if __name__ == "__main__" and _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
    _signal.signal(_signal.SIGINT, _interrupted)  # not when the caller ignores SIGINT (nohup, a job)

import argparse  # noqa: E402
import signal  # noqa: E402
import importlib  # noqa: E402
import importlib.util  # noqa: E402

DEBIAN_PYTHON = "/usr/lib/python3/dist-packages"  # where Debian's python3-mininet is


def _project_python(modules: tuple[str, ...]) -> None:
    """From a checkout, whatever `python` is (root's python3, a pyenv shim): without the
    project's packages, run again under the checkout's venv (ci/setup makes it), or say
    in one line what to run. Installed into some other venv (pip install CHECKOUT), the
    one thing pip cannot bring is Mininet, a Debian package: say how the venv reaches it.
    (probe/__main__.py has its twin: `testbed collect` must load no probe module, and the
    probe depends on nothing of the testbed.)"""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if not missing:
        return
    checkout = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.exists(os.path.join(checkout, "ci", "setup")):  # installed, not a checkout
        print(f"python -m testbed: {sys.executable} cannot import {', '.join(missing)}: {_installed_hint(missing)}",
              file=sys.stderr)
        sys.exit(2)
    venv = os.path.join(checkout, ".venv", "bin", "python")
    if os.access(venv, os.X_OK) and not os.environ.get("NETFLOW_LAB_REEXEC"):
        os.environ["NETFLOW_LAB_REEXEC"] = "1"  # never loop
        os.execv(venv, [venv, "-m", "testbed", *sys.argv[1:]])
    print(f"python -m testbed: {sys.executable} has no {', '.join(missing)}: run ci/setup "
          f"(as root) in {checkout}, then this command again", file=sys.stderr)
    sys.exit(2)


def _installed_hint(missing: list[str]) -> str:
    if missing != ["mininet"]:
        return "install netflow-lab with pip (pip install /path/to/checkout), which brings its dependencies"
    if not os.path.isdir(os.path.join(DEBIAN_PYTHON, "mininet")):
        return "it is a Debian package: apt install mininet (as root), then let this venv see it (README)"
    import sysconfig
    site = sysconfig.get_paths()["purelib"]
    return (f"it is Debian's python3-mininet: make this venv with `python3 -m venv --system-site-packages`, "
            f"or let it see {DEBIAN_PYTHON}: echo {DEBIAN_PYTHON} > {site}/debian.pth")


BASE = ("yaml", "scapy", "pyroute2", "netaddr")
LABS = ("run", "compare", "replay", "up", "clean")  # these build or tear down labs: Mininet


if __name__ == "__main__":
    _chosen = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    _project_python(BASE + (("mininet",) if _chosen in LABS or _chosen is None else ()))

SUBCOMMANDS = {  # name -> (module with add_parser(subparsers), one-line help)
    "run": ("testbed.run.cli", "build a lab, run its traffic and checks, report"),
    "compare": ("testbed.run.compare", "run labs once per exporter; print a conformance matrix"),
    "validate": ("testbed.plan.cli", "check lab files and resolve their run plans (no root needed)"),
    "gen": ("testbed.topology.cli", "write a generated lab file (e.g. a line of N routers)"),
    "labs": ("testbed.topology.cli", "print the paths of the ready labs (e.g. labs conformance)"),
    "collect": ("testbed.collector.cli", "run the reference NetFlow v5/v9/IPFIX collector (live, or on a capture)"),
    "replay": ("testbed.replay.cli", "replay a capture through a lab's live probe and the offline probe, compare"),
    "up": ("testbed.lab.cli", "build a lab and hold it until Ctrl-C"),
    "clean": ("testbed.lab.cli", "remove what crashed lab runs left behind"),
}
PURE = ("validate", "gen")  # nothing to undo: Ctrl-C stays one line and 130 while they work too


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
    if signal.getsignal(signal.SIGINT) is _interrupted and args.command not in PURE:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # the command's own handling from here
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
