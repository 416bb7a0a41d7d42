"""Data sets that arrived before their template, held until it comes (RFC 7011
9.3: a collector SHOULD accept them and MAY store them for a short time).

Bounded three ways: how many sets, how many octets, how long (time is an
argument, the receive time of whatever the collector handles). What leaves
without its template is handed back to be counted as undecodable.
"""
from __future__ import annotations

from collections import deque
from typing import Any, NamedTuple


class Held(NamedTuple):
    key: tuple  # (scope, template id)
    body: bytes
    since_ms: int
    context: Any  # whatever the records will need (their datagram's)


class HeldSets:
    def __init__(self, max_sets: int = 1024, max_bytes: int = 4 << 20, max_ms: int = 30_000):
        self.max_sets, self.max_bytes, self.max_ms = max_sets, max_bytes, max_ms
        self._q: deque[Held] = deque()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._q)

    def add(self, h: Held) -> list[Held]:
        """Hold `h`; the oldest that no longer fit come back."""
        self._q.append(h)
        self.bytes += len(h.body)
        out = []
        while len(self._q) > self.max_sets or self.bytes > self.max_bytes:
            out.append(self._pop())
        return out

    def take(self, key: tuple) -> list[Held]:
        """Every set held for `key` (its template arrived), oldest first."""
        if not any(h.key == key for h in self._q):
            return []
        mine = [h for h in self._q if h.key == key]
        self._q = deque(h for h in self._q if h.key != key)
        self.bytes -= sum(len(h.body) for h in mine)
        return mine

    def expire(self, now_ms: int) -> list[Held]:
        """Those held longer than max_ms."""
        out = []
        while self._q and now_ms - self._q[0].since_ms > self.max_ms:
            out.append(self._pop())
        return out

    def drain(self) -> list[Held]:
        out = list(self._q)
        self._q.clear()
        self.bytes = 0
        return out

    def _pop(self) -> Held:
        h = self._q.popleft()
        self.bytes -= len(h.body)
        return h
