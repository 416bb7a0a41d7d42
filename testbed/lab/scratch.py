"""Scratch folders of runs that run other runs (`run -j`, `compare`): each says whose it is,
so `testbed clean` removes those whose owner is gone (a SIGKILL leaves one behind).

    with scratch("netflow-lab-runs-") as folder: ...
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from . import procs

PREFIXES = ("netflow-lab-runs-", "netflow-lab-compare-")
OWNER = "owner.json"


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A new folder in the temp directory, removed at the end; it names its owner."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown scratch prefix {prefix!r}")
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        (folder / OWNER).write_text(json.dumps({"pid": os.getpid(), "start": procs.start_time(os.getpid())}))
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def clean_stale(base: Path | None = None) -> list[str]:
    """Remove the scratch folders whose owner is gone; one note per folder removed."""
    notes = []
    for folder in sorted(Path(base or tempfile.gettempdir()).iterdir()):
        if not folder.is_dir() or not folder.name.startswith(PREFIXES):
            continue
        try:
            owner = json.loads((folder / OWNER).read_text())
            if procs.alive(int(owner["pid"]), owner.get("start")):
                continue
        except (OSError, ValueError, KeyError, TypeError):
            pass  # no owner to ask: an older run's, or a half-made one
        shutil.rmtree(folder, ignore_errors=True)
        notes.append(f"{folder}: removed (its run is gone)")
    return notes
