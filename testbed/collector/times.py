"""Uptime arithmetic: v5 carries times as 32-bit exporter uptime ms that wrap.

Every difference is taken modulo 2^32 and read as signed, so a flow that
started just before sys_uptime wrapped (about every 49.7 days) still has a
small positive age, and a `last` ahead of sys_uptime reads as negative.
"""
from __future__ import annotations

MOD = 1 << 32
HALF = 1 << 31


def signed32(value: int) -> int:
    """`value` modulo 2^32, read as a signed 32-bit int."""
    value &= MOD - 1
    return value - MOD if value >= HALF else value


def flow_times(export_ms: int, sys_uptime: int, first: int, last: int) -> tuple[int, int]:
    """Absolute (start_ms, end_ms): export time minus each one's age, as nfdump
    computes `unix time - (sys_uptime - first)`, but wrap-aware on both ends."""
    return export_ms - signed32(sys_uptime - first), export_ms - signed32(sys_uptime - last)
