"""How long a run waits after its traffic: as long as the checks need, no longer.

Each `exported_within` check has a deadline (its reference time + the top of
its window). The run polls the collector's output and stops waiting when
every such check has its records, or when the last deadline has passed.
"""
from __future__ import annotations

import time

from ..expect.match import matcher_for, sent_flows

MARGIN_S = 0.5
POLL_S = 0.2


def deadlines(checks, ctx) -> list[tuple[object, float]]:
    out = []
    for c in checks:
        if c.kind != "exported_within":
            continue
        _, hi = c.get("window")
        if c.get("after") is not None:
            ref = ctx.step_times.get(c.get("after"))
        else:
            sent = [t.last for t in sent_flows(matcher_for(c), ctx) if t.last is not None]
            ref = max(sent) if sent else None
        if ref is not None:
            out.append((c, ref + hi + MARGIN_S))
    return out


def wait_for_exports(checks, ctx, snapshot, say=print) -> float:
    """Block until the timed checks are satisfied or due; returns seconds waited.

    `snapshot()` reads what the collectors have now and returns a function
    check -> the records that check judges (its own probe's)."""
    pending = deadlines(checks, ctx)
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
    m = matcher_for(check)
    mine = [r for r in records if m(r)]
    sent = sent_flows(m, ctx)
    if not sent:
        return bool(mine)
    return sum(r.packets for r in mine) >= sum(t.packets for t in sent)
