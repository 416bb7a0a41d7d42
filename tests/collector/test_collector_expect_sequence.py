"""The `sequence` check sees loss at either end of a stream, not only gaps."""
from nfv5_build import UNIX_MS, datagram

from testbed.collector import Collector
from testbed.expect.checks.sequence import Sequence
from contexts import context

CHECK = Sequence(name="seq", probe="p1")


def observed(*seqs_counts):
    c = Collector()
    for i, (seq, n) in enumerate(seqs_counts):
        c.receive(datagram(n, seq=seq, uptime=100_000 + i), ("10.0.9.1", 40000), UNIX_MS + i)
    return c.result()


def test_contiguous_from_zero_passes():
    v = CHECK.evaluate(observed((0, 30), (30, 5)), context(records_sent=35))
    assert v.passed, v.problems


def test_first_datagram_lost():
    v = CHECK.evaluate(observed((30, 30), (60, 5)), context())
    assert not v.passed and "the 30 records before it never arrived" in v.problems[0]


def test_last_datagram_lost():
    v = CHECK.evaluate(observed((0, 30)), context(records_sent=35))
    assert not v.passed and "5 lost" in v.problems[0]


def test_a_failing_stream_is_not_called_contiguous():
    v = CHECK.evaluate(observed((0, 30), (40, 5)), context())
    assert not v.passed and "contiguous" not in v.observed and "10 records lost in gaps" in v.observed


def test_only_malformed_datagrams_is_not_no_datagram():
    c = Collector()
    for i in range(3000):
        c.receive(b"\x00\x05garbage", ("10.0.9.1", 40000), UNIX_MS + i)
    v = CHECK.evaluate(c.result(), context(records_sent=0))
    assert not v.passed and v.problems[0].startswith("3000 malformed datagrams arrived and no valid one")


def test_nothing_at_all_judged_nothing():
    v = CHECK.evaluate(Collector().result(), context(records_sent=0))
    assert not v.passed and v.problems == ("no datagram arrived: nothing to judge (the probe sent none)",)


def test_the_collectors_own_socket_drops_are_in_the_verdict():
    result = observed((0, 30), (30, 5))
    result.live.update(socket_drops=262_837)
    v = CHECK.evaluate(result, context(records_sent=35))
    assert not v.passed and v.problems == ("the collector's own socket dropped 262837 datagrams (its receive "
                                           "buffer was full): the referee lost them, not the export path",)
    runs = observed((0, 30))
    runs.live.update(runs=[{"socket_drops": 2}, {"socket_drops": 3}])
    assert "dropped 5 datagrams" in CHECK.evaluate(runs, context()).problems[-1]
