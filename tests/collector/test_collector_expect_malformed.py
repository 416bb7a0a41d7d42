"""`no_malformed` says what it counted: a total, by reason, never "0" over a failure."""
from nfv5_build import UNIX_MS, datagram

from testbed.collector import Collector
from testbed.expect.checks.no_malformed import NoMalformed
from contexts import context

CHECK = NoMalformed(name="clean", probe="p1")
SOURCE = ("10.0.9.1", 40000)


def test_ten_malformed_are_counted_by_reason_and_the_rest_said():
    c = Collector()
    c.receive(datagram(2), SOURCE, UNIX_MS)
    for i in range(10):
        c.receive(datagram(1, version=8 if i % 2 else 7), SOURCE, UNIX_MS + i)
    v = CHECK.evaluate(c.result(), context())
    assert not v.passed and v.observed == "10 malformed of 11 datagrams (10 bad-version)"
    assert len(v.problems) == 9 and v.problems[-1] == "... and 2 more (all 10: 10 bad-version)"


def test_none_malformed_says_out_of_how_many():
    c = Collector()
    c.receive(datagram(2), SOURCE, UNIX_MS)
    v = CHECK.evaluate(c.result(), context())
    assert v.passed and v.observed == "0 malformed of 1 datagrams"


def test_nothing_arrived_judged_nothing():
    v = CHECK.evaluate(Collector().result(), context())
    assert not v.passed and v.problems == ("no datagram arrived: nothing to judge",)
