"""The live probe's final flush (and `ctl flush`) sends each batch before it builds the
next, as the offline one does: a full cache is never held as datagrams all at once."""
from __future__ import annotations

from types import SimpleNamespace

from probe.constants import FLUSH_FLOWS, Expiry
from probe.live.daemon import Daemon


class Engine:
    """A cache of `flows` flows, 30 a datagram, flushed `most` at a time; logs what happens."""

    def __init__(self, flows: int, log: list) -> None:
        self.left, self.built, self.log = flows, [], log

    def flush(self, now, reason, most=None):
        n = self.left if most is None else min(most, self.left)
        self.left -= n
        self.built += [f"d{len(self.log)}-{k}" for k in range(-(-n // 30))]
        self.log.append(("flush", reason, n, now))
        return self.left == 0

    def datagrams_to_send(self):
        out, self.built = self.built, []
        return out


def daemon(flows: int):
    log: list = []
    output = SimpleNamespace(emit=lambda d: log.append(("emit", d)), flush=lambda: log.append(("flush files",)),
                             finished=False)
    return SimpleNamespace(probe=Engine(flows, log), output=output, clock=SimpleNamespace(now_ms=lambda: 7000),
                           stopping=False), log


def test_a_full_cache_is_sent_a_batch_at_a_time():
    d, log = daemon(2 * FLUSH_FLOWS + 5)
    sent = Daemon.expire_all(d, Expiry.SHUTDOWN)
    flushes = [i for i, e in enumerate(log) if e[0] == "flush"]
    assert [log[i][1:] for i in flushes] == [(Expiry.SHUTDOWN, FLUSH_FLOWS, 7000)] * 2 + [(Expiry.SHUTDOWN, 5, 7000)]
    # every batch's datagrams leave before the next batch is built
    assert log[flushes[0] + 1][0] == "emit" and log[flushes[1] - 1][0] == "emit"
    assert sent == 2 * (FLUSH_FLOWS // 30) + 1 == sum(e[0] == "emit" for e in log)
    assert log[-1] == ("flush files",) and not d.stopping


def test_ctl_flush_expires_as_a_flush_and_says_how_many_datagrams():
    d, log = daemon(31)
    assert Daemon.expire_all(d, Expiry.FLUSH) == 2
    assert [e[1] for e in log if e[0] == "flush"] == [Expiry.FLUSH]
