"""The end of a log file, read from its end.

Logs of the programs a lab runs (exporters, players, tcpdump, collectors) are
files that a program may fill as fast as it can write: whoever reads one for a
message or a report takes a bounded tail, never the whole file into memory.
"""
from __future__ import annotations

import os
from pathlib import Path

TAIL_BYTES = 64 * 1024


def tail(path: str | os.PathLike, limit: int = TAIL_BYTES) -> str:
    """The last `limit` bytes of a file as text ('' if it is missing), marked when cut."""
    try:
        with open(Path(path), "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - limit))
            data = f.read(limit)
    except OSError:
        return ""
    text = data.decode(errors="replace")
    return text if size <= limit else f"[... {size - limit} earlier bytes not shown]\n" + text
