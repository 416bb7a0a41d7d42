"""When a timing verdict cannot be trusted: the traffic was sent late.

A replay (or a crafted step) sends each packet at a planned time and
measures how far it fell behind (`FlowTruth.lag`). Every time a timing check
measures may have moved by as much; when that is more than the distance from
the measured value to the nearest edge of the check's window, the verdict
(pass or fail) could be the sender's doing, and says so.
"""
from __future__ import annotations


def lag_of(flows) -> float:
    """The largest lag of the sent flows (0 when none was measured)."""
    return max((t.lag or 0.0 for t in flows), default=0.0)


def unreliable(value: float, window: tuple[float, float], lag: float) -> str:
    """'' if `value` is further than `lag` from both edges of `window`, else why not."""
    lo, hi = window
    margin = min(abs(value - lo), abs(hi - value))
    if lag <= margin:
        return ""
    return (f" (unreliable: the traffic was sent up to {lag * 1000:.0f} ms behind its timing, "
            f"more than the {margin * 1000:.0f} ms to the window's edge)")
