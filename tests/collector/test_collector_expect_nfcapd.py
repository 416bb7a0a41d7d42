"""The `nfcapd_agrees` check reads nfcapd's view of the probe whatever the referee saw, and a
comparison of nothing with nothing is no pass."""
from nfv5_build import UNIX_MS, datagram

from testbed.collector import Collector
from testbed.collector.nfcapd import NfcapdResult, NfdumpExporter, NfdumpTotals
from testbed.expect.checks.nfcapd_agrees import NfcapdAgrees
from testbed.expect.context import Context

CHECK = NfcapdAgrees(name="agrees", probe="p1", collector="n1")
PROBE = "10.255.0.1"


def referee(*counts, exporter=PROBE):
    c = Collector()
    seq = 0
    for i, n in enumerate(counts):
        c.receive(datagram(n, seq=seq, uptime=100_000 + i), (exporter, 40000), UNIX_MS + i)
        seq += n
    return c.result()


def nfcapd(*exporters):
    """exporters: (address, flows); each flow 3 packets, 300 bytes as nfv5_build's records."""
    flows = sum(f for _, f in exporters)
    return NfcapdResult(NfdumpTotals(flows, 3 * flows, 300 * flows, 0),
                        tuple(NfdumpExporter(a, 0, 1, f, 0) for a, f in exporters), 0)


def ctx(result, mine=(PROBE,)):
    return Context(nfcapd={"n1": result}, exporter_addresses=frozenset(mine))


def test_the_same_story_passes_and_says_what_was_counted():
    v = CHECK.evaluate(referee(2, 1), ctx(nfcapd((PROBE, 3))))
    assert v.passed, v.problems
    assert v.observed.startswith("nfcapd n1: 3 flows, 9 packets, 0 sequence failures from 10.255.0.1; "
                                 "referee: 3 records, 9 packets"), v.observed


def test_a_flow_only_nfcapd_got_is_counted_when_the_referee_got_none():
    """The issue's run: nfcapd's summary showed 1 flow, the check read 0 and passed (it only
    counted nfcapd's exporters that the referee had seen too)."""
    v = CHECK.evaluate(referee(), ctx(nfcapd((PROBE, 1))))
    assert not v.passed
    assert "nfcapd n1: 1 flows" in v.observed
    assert v.problems[0].startswith(f"{PROBE}: nfcapd 1 flows, 0 sequence failures; referee 0 records")


def test_nothing_on_either_side_judged_nothing():
    v = CHECK.evaluate(referee(), ctx(nfcapd()))
    assert not v.passed
    assert v.problems == ("nothing to compare: neither nfcapd n1 nor the referee received a record "
                          "from 10.255.0.1",)


def test_another_probes_flows_in_the_same_nfcapd_are_not_this_ones():
    v = CHECK.evaluate(referee(2), ctx(nfcapd((PROBE, 2), ("10.255.1.2", 5))))
    assert v.passed, v.problems
    assert "(5 flows from other exporters)" in v.observed


def test_a_reading_that_loses_flows_is_a_failure():
    """nfdump -E must account for every flow of nfdump -I: a line it could not read would
    otherwise be a silent 0."""
    n = nfcapd((PROBE, 2))
    n = NfcapdResult(NfdumpTotals(3, 9, 900, 0), n.exporters, 0)
    v = CHECK.evaluate(referee(2), ctx(n))
    assert not v.passed
    assert any("nfdump -E accounts for 2 of the 3 flows of nfdump -I" in p for p in v.problems), v.problems
