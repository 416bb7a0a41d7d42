"""Export-path impairment as pure logic: datagrams and time in, datagrams to send out.

An `Impairer` stands between a probe and its collectors (testbed/faults/tap.py
is the process around it). For each datagram it draws one fate from a seeded
random stream - drop, duplicate, reorder (held, then sent after the next one),
or pass - and every datagram it lets through waits `delay_ms`. Its log says
what it did to each datagram, when, and which records the datagram carried:
that log is the ground truth the `sequence` and `conservation` checks compare
the collector's view with. Same datagrams, times and seed in: same fates out.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import NamedTuple

from ..collector.v5 import Rejected, decode

REORDER_HOLD_S = 1.0  # a held datagram goes out in order if nothing follows it this soon


@dataclass(frozen=True)
class Policy:
    drop: float = 0.0  # probabilities, per datagram (one fate each)
    duplicate: float = 0.0
    reorder: float = 0.0
    delay_ms: float = 0.0  # added to every datagram let through
    seed: int = 0

    def __post_init__(self) -> None:
        total = self.drop + self.duplicate + self.reorder
        if min(self.drop, self.duplicate, self.reorder, self.delay_ms) < 0 or total > 1:
            raise ValueError(f"impairment probabilities must be >= 0 and add up to <= 1, got {self}")


class Out(NamedTuple):
    at: float  # when to send it (unix seconds)
    data: bytes


@dataclass
class Impairer:
    policy: Policy = field(default_factory=Policy)
    log: list[dict] = field(default_factory=list)  # taken by the driver (see take_log)
    _rng: random.Random = field(default_factory=random.Random)
    _held: tuple[float, bytes, dict] | None = None  # a datagram waiting to be overtaken
    _queue: list[Out] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.set_policy(self.policy)

    def set_policy(self, policy: Policy) -> None:
        """A new policy from now on; its seed restarts the random stream."""
        self.policy = policy
        self._rng = random.Random(policy.seed)

    def receive(self, data: bytes, now: float) -> None:
        """One datagram from the probe: its fate is drawn now."""
        entry = _describe(data, now)
        p, draw = self.policy, self._rng.random()
        later = now + p.delay_ms / 1000
        if draw < p.drop:
            self._note(entry, "drop", None)
        elif draw < p.drop + p.duplicate:
            self._note(entry, "duplicate", later)
            self._queue += [Out(later, data), Out(later, data)]
        else:
            overtaken = self._held
            if overtaken is not None:  # this one overtakes the held one
                self._held = None
            if draw < p.drop + p.duplicate + p.reorder and overtaken is None:
                self._held = (now, data, entry)  # sent after the next datagram
            else:
                self._note(entry, "delay" if p.delay_ms else "pass", later)
                self._queue.append(Out(later, data))
            if overtaken is not None:
                self._note(overtaken[2], "reorder", later)
                self._queue.append(Out(later, overtaken[1]))

    def next_timer(self) -> float | None:
        times = [o.at for o in self._queue]
        if self._held is not None:
            times.append(self._held[0] + REORDER_HOLD_S)
        return min(times) if times else None

    def due(self, now: float) -> list[bytes]:
        """Datagrams to send now, in order (a held one nothing overtook goes out as delayed)."""
        if self._held is not None and now >= self._held[0] + REORDER_HOLD_S:
            held_at, data, entry = self._held
            self._held = None
            at = max(now, held_at + self.policy.delay_ms / 1000)
            self._note(entry, "delay", at)
            self._queue.append(Out(at, data))
        ready = sorted((o for o in self._queue if o.at <= now), key=lambda o: o.at)
        self._queue = [o for o in self._queue if o.at > now]
        return [o.data for o in ready]

    def flush(self) -> list[bytes]:
        """Everything still held or delayed, now (the tap is stopping)."""
        return self.due(float("inf"))

    def take_log(self) -> list[dict]:
        out, self.log = self.log, []
        return out

    def _note(self, entry: dict, action: str, at: float | None) -> None:
        """`at`: when it is sent (None: never)."""
        self.log.append({**entry, "action": action, "sent": at})


def _describe(data: bytes, now: float) -> dict:
    """What the log says of a datagram: its header and records (independent decode)."""
    got = decode(data)
    if isinstance(got, Rejected):
        return {"t": now, "malformed": got.reason}
    h, records = got
    return {"t": now, "seq": h.flow_sequence, "uptime": h.sys_uptime, "export_ms": h.export_ms,
            "count": h.count, "engine": [h.engine_type, h.engine_id],
            "records": [[_ip(r.src), _ip(r.dst), r.sport, r.dport, r.proto, r.tos, r.packets, r.octets]
                        for r in records]}


def _ip(raw: bytes) -> str:
    return ".".join(map(str, raw))
