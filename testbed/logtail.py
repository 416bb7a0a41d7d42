"""The end of a log file, read from its end.

Logs of the programs a lab runs (exporters, players, taps) are files that a
program may fill as fast as it can write: whoever reads one for a message or
a report takes a bounded tail, never the whole file into memory.
"""
from __future__ import annotations

import os

TAIL = 64 << 10  # bytes kept of a log for a report or the artifacts


def tail(path: str | os.PathLike, chars: int = TAIL) -> str:
    """The last `chars` bytes of the file as text ("" if it is missing); a cut is marked
    with "..." at the start."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - chars))
            data = f.read(chars)
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    return "..." + text if size > chars else text
