"""What an operator types: the limits of its values (command line and control
requests alike) and a parser whose errors are one line."""
from __future__ import annotations

import argparse

from .constants import MAX_SECONDS, MIN_SECONDS, RING_MAX, RING_MIN

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


_UNITS = {"": 1, "K": 1 << 10, "KIB": 1 << 10, "M": 1 << 20, "MIB": 1 << 20}


def size_bytes(value) -> int:
    """A size: bytes, or a whole number with K/KiB or M/MiB (`1M`, `512K`); ValueError otherwise."""
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    digits = text.rstrip("KkMmIiBb").strip()
    unit = text[len(text.rstrip("KkMmIiBb")):].upper()
    if not digits.isdigit() or unit not in _UNITS:
        raise ValueError(f"expected a size like 1M or 512K, got {value!r}")
    return int(digits) * _UNITS[unit]


def show_size(size: int) -> str:
    """1048576 -> 1M, 65536 -> 64K (what size_bytes reads back)."""
    for unit, n in (("M", 1 << 20), ("K", 1 << 10)):
        if size % n == 0:
            return f"{size // n}{unit}"
    return str(size)


def ring_size(value) -> int:
    """A capture ring's size (size_bytes) in [RING_MIN, RING_MAX]; ValueError otherwise."""
    size = size_bytes(value)
    if not RING_MIN <= size <= RING_MAX:
        raise ValueError(f"expected a ring of {show_size(RING_MIN)} to {show_size(RING_MAX)}, got {value!r}")
    return size


def ring_size_arg(text: str) -> int:
    try:
        return ring_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def seconds_arg(text: str) -> float:
    """`seconds` as an argparse type (its message kept)."""
    try:
        return seconds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
