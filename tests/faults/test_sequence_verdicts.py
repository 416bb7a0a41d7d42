"""The `sequence` verdict when the export path is impaired: the tap's log is the truth.

Sans-IO end to end on a fake clock: the Impairer (the tap's logic) between a
stream of v5 datagrams and the referee's Collector, a collector outage where
the driver says, then path_truth over the Impairer's log and the `sequence`
check over what the Collector received. Each case is one the issue found
judged wrongly where `conservation` passed (#19 item 1).
"""
import struct

from testbed.collector import Collector
from testbed.expect.checks.sequence import Sequence
from contexts import context
from testbed.expect.path_truth import path_truth
from testbed.faults.impair import Impairer, Policy

T0 = 1_700_000_000.0
ENGINE = (0, 1)
EXPORTER = ("10.255.0.1", 40000)
COUNT = 2  # records per datagram
CHECK = Sequence(name="seq", probe="p1")
TICK = 0.05


def v5(i: int, now: float) -> bytes:
    """The probe's i-th datagram, exported at `now`."""
    seq, uptime, ms = i * COUNT, 1000 + i * 100, int(now * 1000)
    header = struct.pack("!HHIIIIBBH", 5, COUNT, uptime, ms // 1000, ms % 1000 * 1_000_000, seq, *ENGINE, 0)
    record = struct.pack("!4s4s4sHHIIIIHHBBBBHHBBH", bytes([10, 0, 1, 10]), bytes([10, 0, 2, 10]),
                         b"\0" * 4, 2, 3, 1, 100, uptime - 50, uptime - 10, 40000, 5000 + i, 0, 0, 17, 0,
                         0, 0, 24, 24, 0)
    return header + record * COUNT


class ExportPath:
    """A probe sending one datagram per `send`, the impairer, and the collector behind it."""

    def __init__(self) -> None:
        self.imp, self.collector = Impairer(), Collector()
        self.now, self.sent, self.log = T0, 0, []
        self.outages: list[tuple[float, float | None]] = []

    def policy(self, **kw) -> None:
        self.imp.set_policy(Policy(**kw))

    def send(self, n: int = 1) -> None:
        for _ in range(n):
            self.imp.receive(v5(self.sent, self.now), self.now)
            self.sent += 1
            self.run(TICK)

    def run(self, seconds: float) -> None:
        end = self.now + seconds
        while self.now < end:
            self.now = round(self.now + TICK, 3)
            self._deliver(self.imp.due(self.now))

    def collector_down(self, seconds: float) -> None:
        self.outages.append((self.now, self.now + seconds))
        self.run(seconds)

    def verdict(self):
        self._deliver(self.imp.flush())
        result = self.collector.result()
        path = path_truth(self.imp.take_log(), result.datagrams, self.outages, ENGINE)
        return CHECK.evaluate(result, context(records_sent=self.sent * COUNT, path=path))

    def _deliver(self, datagrams) -> None:
        if any(down <= self.now <= up for down, up in self.outages):
            return  # the collector is down: what reaches it now is lost
        for data in datagrams:
            self.collector.receive(data, EXPORTER, int(self.now * 1000))


def test_everything_dropped_on_purpose_is_a_pass():
    path = ExportPath()
    path.policy(drop=1.0)
    path.send(5)
    v = path.verdict()
    assert v.passed, v.problems
    assert v.observed == "no datagram arrived; the tap saw 5 datagrams (5 drop), so none may arrive"


def test_the_first_datagram_reordered_is_a_reorder_not_a_reset():
    path = ExportPath()
    path.policy(reorder=1.0)  # datagram 0 held, 1 overtakes it; then 2 held, 3 overtakes it
    path.send(4)
    v = path.verdict()
    assert v.passed, v.problems
    assert "2 reordered" in v.observed and "reset" not in v.observed


def test_a_duplicate_sent_while_the_collector_was_down_is_not_expected():
    path = ExportPath()
    path.send(2)
    path.policy(duplicate=1.0)
    path.imp.receive(v5(path.sent, path.now), path.now)  # duplicated into an outage
    path.sent += 1
    path.collector_down(1.0)
    path.policy()
    path.send(2)
    v = path.verdict()
    assert v.passed, v.problems
    assert "1 sent while the collector was down, so the collector must count 4 datagrams, 2 records in gaps" \
        in v.observed


def test_a_long_delay_cleared_by_the_next_policy_reorders_and_the_log_says_so():
    path = ExportPath()
    path.send(1)
    path.policy(delay_ms=1500)
    path.send(1)  # leaves 1.5 s later
    path.policy()
    path.send(2)  # overtake it
    path.run(2.0)
    v = path.verdict()
    assert v.passed, v.problems
    assert "1 reordered" in v.observed


def test_what_the_log_does_not_make_still_fails_by_name():
    path = ExportPath()
    path.send(3)
    path._deliver([v5(1, round(T0 + TICK, 3))])  # a copy no tap sent (the same bytes: a copy, not a restart)
    v = path.verdict()
    assert not v.passed
    assert "duplicates: the collector counted 1, the tap's log makes 0" in " ".join(v.problems)
