"""How long a run waits after its traffic: as long as the checks need, no longer.

A timed check has a deadline (`Check.deadline`). The run polls the collectors
and stops waiting when every timed check has all its records, or when the
last deadline has passed.
"""
from __future__ import annotations

import time

from ..expect.match import sent_flows

POLL_S = 0.2


def wait_for_exports(checks, ctx, snapshot, say=print) -> float:
    """Block until the timed checks are satisfied or due; returns seconds waited.

    `snapshot()` reads what the collectors have now and returns a function
    check -> the records that check judges (its own probe's)."""
    pending = [(c, d) for c in checks if (d := c.deadline(ctx)) is not None]
    if not pending:
        return 0.0
    began = time.time()
    last_deadline = max(d for _, d in pending)
    say(f"        waiting up to {max(0.0, last_deadline - began):.1f} s for timed exports "
        f"({', '.join(c.name for c, _ in pending)})")
    while time.time() < last_deadline:
        records_of = snapshot()
        if all(complete(c, records_of(c), ctx) for c, _ in pending):
            break
        time.sleep(POLL_S)
    return time.time() - began


def complete(check, records, ctx) -> bool:
    """Every packet the traffic sent for the check's flows has been exported
    (any matching record, when the traffic is not known packet by packet)."""
    m = check.selects
    mine = [r for r in records if m(r)]
    sent = sent_flows(m, ctx)
    if not sent:
        return bool(mine)
    return sum(r.packets for r in mine) >= sum(t.packets for t in sent)
