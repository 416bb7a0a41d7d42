"""Timeouts changed at run time (`control ... timeouts`, a restart): which
one a flow's expiry follows. Pure: the run records the changes with their
times; the timed checks ask here."""
from __future__ import annotations


def limit_from(since: float, timeout: float, changes) -> float:
    """How long after `since` a flow expires - idle since then (inactive
    timeout) or started then (active timeout) - when the timeout was
    `timeout` and changed at run time as `changes` say ([(unix time,
    seconds)]): the one in effect at `since`, and a change made before the
    flow expired counts from then on (the next scan compares with the new
    value)."""
    for at, value in sorted(changes):
        if at <= since:
            timeout = value
        elif at < since + timeout:
            timeout = max(at - since, value)
        else:
            break
    return timeout
