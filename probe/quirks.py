"""Historic behaviours of ng_netflow r135400 that can be switched back on.

Each id is a row of FIELD-BUGS.md. Without quirks the probe fixes every one;
with `--quirk ID` (or `--compat r135400` for all) it reproduces the bug so a
lab can show the testbed catching it. The behaviours are r135400.py's (a
subclass of the reference engine); here are their names. Each quirk is tested
at the one place where the behaviour differs.
"""
from __future__ import annotations

UPTIME_SECONDS = "uptime-seconds"
FIRST_FLAGS_LOST = "first-flags-lost"
PARTIAL_DATAGRAM_HELD = "partial-datagram-held"
SHUTDOWN_LOSES_PARTIAL = "shutdown-loses-partial"
IDLE_LARGE_FLOWS_STUCK = "idle-large-flows-stuck"
CACHE_FULL_DROPS = "cache-full-drops"
STALE_ROUTE_FIELDS = "stale-route-fields"
TRUNCATED_FIRST_FRAGMENT = "truncated-first-fragment"
IFINDEX_OVERFLOW = "ifindex-overflow"

ALL = (
    UPTIME_SECONDS, FIRST_FLAGS_LOST, PARTIAL_DATAGRAM_HELD, SHUTDOWN_LOSES_PARTIAL,
    IDLE_LARGE_FLOWS_STUCK, CACHE_FULL_DROPS, STALE_ROUTE_FIELDS,
    TRUNCATED_FIRST_FRAGMENT, IFINDEX_OVERFLOW,
)
COMPAT = {"r135400": frozenset(ALL)}


def parse(names: list[str] | None, compat: str | None = None) -> frozenset[str]:
    """Validate quirk names; raises ValueError naming the unknown one."""
    if compat and compat not in COMPAT:
        raise ValueError(f"unknown --compat {compat!r} (known: {', '.join(COMPAT)})")
    chosen = set(COMPAT[compat]) if compat else set()
    for name in names or ():
        if name not in ALL:
            raise ValueError(f"unknown quirk {name!r} (known: {', '.join(ALL)})")
        chosen.add(name)
    return frozenset(chosen)
