"""`--stats-file PATH`: the final statistics as one JSON object, for programs.

Written once at exit, atomically (a temporary file in the same directory,
then rename), so a reader never sees half a file. The human summary on
stdout/stderr stays as it is; this is the same counters as data.
"""
from __future__ import annotations

import json
import os


def checked(path: str | None) -> str | None:
    """Refuse up front what could not be written at exit (ValueError, one line)."""
    if path is None:
        return None
    if os.path.isdir(path):
        raise ValueError(f"--stats-file {path}: is a directory")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ValueError(f"--stats-file {path}: no directory {parent}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"--stats-file {path}: cannot write in {parent}")
    return path


def write(path: str, stats: dict) -> str | None:
    """None, or why the file could not be written, in one line (its directory may have
    gone since the start: the statistics are printed anyway, the caller exits 1)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(stats, f, indent=1, sort_keys=False)
            f.write("\n")
        os.replace(tmp, path)
        return None
    except OSError as exc:
        _remove(tmp)
        return f"--stats-file {path}: not written: {exc.strerror or exc}"
    except BaseException:
        _remove(tmp)
        raise


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
