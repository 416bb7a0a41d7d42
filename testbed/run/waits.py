"""How long a run waits after its traffic: as long as the checks need, no longer.

A timed check has a deadline (`Check.deadline`). The run polls the collectors
and stops waiting when every timed check has all its records, or when the
last deadline has passed. On a terminal a live line says which checks it
still waits for and how long at most.
"""
from __future__ import annotations

import sys
import time

from probe.progress import LiveLine, is_terminal

from ..expect.match import sent_flows

POLL_S = 0.2


def wait_for_exports(checks, ctx, snapshot, say=print, live: LiveLine | None = None) -> float:
    """Block until the timed checks are satisfied or due; returns seconds waited.

    `ctx`: a Context, or a function check -> the Context of its probe (each
    probe has its own timeouts and claims, hence its own deadlines).
    `snapshot()` reads what the collectors have now and returns a function
    check -> the records that check judges (its own probe's). `live`: a line
    redrawn while waiting (default: on stdout when it is a terminal)."""
    ctx_of = ctx if callable(ctx) else (lambda check: ctx)
    pending = [(c, d) for c in checks if (d := c.deadline(ctx_of(c))) is not None]
    if not pending:
        return 0.0
    began = time.time()
    last_deadline = max(d for _, d in pending)
    say(f"        waiting up to {max(0.0, last_deadline - began):.1f} s for timed exports "
        f"({', '.join(c.name for c, _ in pending)})")
    line = live if live is not None else LiveLine(sys.stdout) if is_terminal(sys.stdout) else None
    try:
        while time.time() < last_deadline:
            records_of = snapshot()
            waiting = [(c, d) for c, d in pending if not complete(c, records_of(c), ctx_of(c))]
            if not waiting:
                break
            if line is not None and line.due():
                line.show(waiting_text(waiting, len(pending), time.time()))
            time.sleep(POLL_S)
    finally:
        if line is not None:
            line.done()
    return time.time() - began


def waiting_text(waiting, total: int, now: float) -> str:
    """`waiting 4.2 s more for udp-late (1 of 2 timed checks complete)`."""
    names = ", ".join(c.name for c, _ in waiting[:3]) + (", ..." if len(waiting) > 3 else "")
    left = max(0.0, max(d for _, d in waiting) - now)
    return (f"        waiting {left:.1f} s more for {names} "
            f"({total - len(waiting)} of {total} timed checks complete)")


def complete(check, records, ctx) -> bool:
    """Every packet the traffic sent for the check's flows has been exported
    (any matching record, when the traffic is not known packet by packet)."""
    m = check.selects
    mine = [r for r in records if m(r)]
    sent = sent_flows(m, ctx)
    if not sent:
        return bool(mine)
    return sum(r.packets for r in mine) >= sum(t.packets for t in sent)
