"""Where the reference engine spends its time: cProfile over Probe.handle_frame."""
from __future__ import annotations

import cProfile
import os
import pstats

from .runs import drive


def hot_spots(frames, top: int = 15) -> list[tuple[str, int, float, float]]:
    """(function, calls, own seconds, cumulative seconds), by own time, highest first."""
    prof = cProfile.Profile()
    prof.runcall(drive, frames)
    stats = pstats.Stats(prof).stats
    rows = []
    for (path, line, func), (_, calls, own, cum, _) in stats.items():
        where = f"{os.path.basename(path)}:{line}({func})" if line else func
        rows.append((where, calls, own, cum))
    rows.sort(key=lambda r: r[2], reverse=True)
    return rows[:top]


def table(rows, packets: int) -> str:
    lines = [f"{'function':58} {'calls':>10} {'own s':>7} {'cum s':>7} {'own ns/pkt':>10}"]
    for where, calls, own, cum in rows:
        lines.append(f"{where[:58]:58} {calls:>10,} {own:>7.2f} {cum:>7.2f} "
                     f"{own * 1e9 / packets:>10.0f}")
    return "\n".join(lines)
