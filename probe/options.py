"""What an operator types: the limits of its values (command line and control
requests alike) and a parser whose errors are one line."""
from __future__ import annotations

import argparse

from .constants import MAX_SECONDS, MIN_SECONDS

USAGE_ERROR = 2


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line, exit 2
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def seconds(value) -> float:
    """A timeout in seconds: a number in [MIN_SECONDS, MAX_SECONDS]; ValueError otherwise
    (true is not a number here, though Python counts it as 1)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        got = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected seconds, got {value!r}") from None
    if not MIN_SECONDS <= got <= MAX_SECONDS:  # also refuses nan and inf
        raise ValueError(f"expected seconds in [{MIN_SECONDS:g}, {MAX_SECONDS}], got {value!r}")
    return got


def seconds_arg(text: str) -> float:
    """`seconds` as an argparse type (its message kept)."""
    try:
        return seconds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
