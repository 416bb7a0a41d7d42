"""Offline export pacing: when the next datagram may leave. Pure logic, time in.

A capture file replays minutes of traffic in a second; unpaced, its datagrams
would overrun a collector's socket buffer (dropped silently). A token bucket
models the room in that buffer: `burst` datagrams fit at once (what a default
buffer holds, with a margin: constants.PACE_BURST), and it drains at `rate`
datagrams a second, so a run of at most `burst` datagrams is not paced at
all, and an idle spell earns no more than one burst of credit. The adapter
(offline_cli) reads the clock and sleeps.
"""
from __future__ import annotations


class Pacer:
    def __init__(self, rate: int, burst: int, now: float) -> None:
        """`rate` datagrams/s (0: no limit) after a first `burst` (at least 1)."""
        if rate < 0 or burst < 1:
            raise ValueError("pacing: rate >= 0 and burst >= 1")
        self.rate, self.burst = rate, burst
        self._tokens = float(burst)
        self._at = now

    def delay(self, now: float) -> float:
        """Seconds to wait from `now` before the next datagram leaves (0: at
        once); the datagram is counted as sent then."""
        if not self.rate:
            return 0.0
        if now > self._at:  # the buffer drained meanwhile, up to empty
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
        self._tokens -= 1
        if self._tokens >= 0:
            return 0.0
        # in debt: it leaves once the buffer has drained one datagram's room
        wait = -self._tokens / self.rate
        self._tokens = 0.0
        self._at += wait
        return wait
