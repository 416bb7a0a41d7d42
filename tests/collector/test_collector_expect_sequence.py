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
