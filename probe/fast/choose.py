"""`--engine fast|reference`: which engine runs, and how a capture file is driven.

The fast engine is the default. It has no quirks: a run with `--quirk` or
`--compat` (the field-bug labs) takes the reference engine by itself, without
a word, since that is what the quirk asks for; `--engine fast` with a quirk
is a usage error. A checkout whose compiled core was never built (no
`ci/setup`) falls back to the reference engine with one line on stderr.
"""
from __future__ import annotations

import sys

from ..engine import Probe
from ..engine_api import Config, FlowEngine
from ..offline import run_file as reference_run_file
from ..r135400 import QuirkyProbe

try:  # loaded with the drivers: a warm interpreter (the testbed's fork server) has it
    from .engine import FastProbe
    from .offline import run_file as fast_run_file
    NOT_BUILT = None
except ImportError as exc:  # no ci/setup on this checkout
    FastProbe, fast_run_file, NOT_BUILT = None, None, exc


def engine_name(asked: str | None, config: Config) -> str:
    """The engine that runs: `asked` is --engine's value (None: not given)."""
    if asked == "reference" or (asked is None and config.quirks):
        return "reference"
    if config.quirks:
        raise ValueError("the fast engine has no quirks: use --engine reference (or no --engine)")
    if NOT_BUILT is not None:
        if asked == "fast":
            raise ValueError(f"the fast engine is not built ({NOT_BUILT}): run ci/setup")
        print(f"python -m probe: the fast engine is not built ({NOT_BUILT}); "
              "using the reference engine", file=sys.stderr)
        return "reference"
    return "fast"


def probe_class(name: str, config: Config) -> type[FlowEngine]:
    """The class of engine `name` (engine_name's answer) for `config`."""
    if name == "fast":
        return FastProbe
    return QuirkyProbe if config.quirks else Probe


def offline(name: str, config: Config):
    """(probe class, run_file) of an engine for a capture file."""
    run_file = fast_run_file if name == "fast" else reference_run_file
    return probe_class(name, config), run_file
