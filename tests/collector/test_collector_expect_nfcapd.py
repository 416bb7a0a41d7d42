"""`nfcapd_agrees` never passes on nothing (0 flows against 0 records judged nothing), and
reads nfcapd's view of every address of the probe, whatever the referee heard from it."""
from nfv5_build import UNIX_MS, datagram

from testbed.collector import Collector
from testbed.collector.nfcapd import NfcapdResult, NfdumpExporter, NfdumpTotals
from testbed.expect.checks.nfcapd_agrees import NfcapdAgrees
from testbed.expect.context import Context
from contexts import context, ours

CHECK = NfcapdAgrees(name="agree", probe="p1", collector="nf")
EXPORTER = "10.255.0.1"
OTHER = "10.255.1.1"  # another address of the probe's router


def nfcapd(flows: int, packets: int) -> dict:
    exporters = (NfdumpExporter(EXPORTER, 0, 1, flows, 0),) if flows else ()
    return {"nf": NfcapdResult(NfdumpTotals(flows, packets, packets * 100, 0), exporters, 0)}


def nfcapd_of(*exporters) -> dict:
    """exporters: (address, flows); each flow 3 packets, 300 bytes as nfv5_build's records."""
    flows = sum(f for _, f in exporters)
    return {"nf": NfcapdResult(NfdumpTotals(flows, 3 * flows, 300 * flows, 0),
                               tuple(NfdumpExporter(a, 0, 1, f, 0) for a, f in exporters), 0)}


def referee(*counts, exporter=EXPORTER):
    c = Collector()
    seq = 0
    for i, n in enumerate(counts):
        c.receive(datagram(n, seq=seq, uptime=100_000 + i), (exporter, 40000), UNIX_MS + i)
        seq += n
    return c.result()


def ctx(result: dict, addresses=(EXPORTER, OTHER)) -> Context:
    return Context(ours(addresses=frozenset(addresses)), nfcapd=result)


def test_nothing_at_the_referee_is_no_agreement_whatever_nfcapd_counted():
    v = CHECK.evaluate(Collector().result(), context(nfcapd=nfcapd(1, 3)))
    assert not v.passed and v.problems == (
        "the referee received no record of the probe: nothing to compare (nfcapd nf counted 1 flows: 1 from "
        "10.255.0.1)",)
    assert not CHECK.evaluate(Collector().result(), context(nfcapd=nfcapd(0, 0))).passed


def test_the_same_counts_agree():
    c = Collector()
    c.receive(datagram(1, seq=0), (EXPORTER, 40000), UNIX_MS)
    v = CHECK.evaluate(c.result(), context(nfcapd=nfcapd(1, 3)))
    assert v.passed, v.problems


def test_the_same_story_says_what_was_counted():
    v = CHECK.evaluate(referee(2, 1), ctx(nfcapd_of((EXPORTER, 3))))
    assert v.passed, v.problems
    assert v.observed.startswith("nfcapd nf: 3 flows, 9 packets, 0 sequence failures from 10.255.0.1; "
                                 "referee: 3 records, 9 packets"), v.observed


def test_flows_from_an_address_the_referee_never_heard_from_are_counted():
    """The check used to count only nfcapd's exporters the referee had seen too: what nfcapd
    got from the probe's other address read as 0, and the check passed."""
    v = CHECK.evaluate(referee(2), ctx(nfcapd_of((EXPORTER, 2), (OTHER, 1))))
    assert not v.passed
    assert v.problems[0] == f"{OTHER}: nfcapd 1 flows, 0 sequence failures; referee 0 records, 0 failures as " \
                            "nfcapd counts them"


def test_another_probes_flows_in_the_same_nfcapd_are_not_this_ones():
    v = CHECK.evaluate(referee(2), ctx(nfcapd_of((EXPORTER, 2), ("10.255.9.9", 5))))
    assert v.passed, v.problems
    assert "(5 flows from other exporters)" in v.observed


def test_a_reading_that_loses_flows_is_a_failure():
    """nfdump -E must account for every flow of nfdump -I: a line it could not read would
    otherwise be a silent 0."""
    n = nfcapd_of((EXPORTER, 2))["nf"]
    v = CHECK.evaluate(referee(2), ctx({"nf": NfcapdResult(NfdumpTotals(3, 9, 900, 0), n.exporters, 0)}))
    assert not v.passed
    assert any("nfdump -E accounts for 2 of the 3 flows of nfdump -I" in p for p in v.problems), v.problems


def test_an_exporter_sending_each_collector_its_own_export_is_not_compared():
    """pmacctd runs one nfprobe plugin per collector: nfcapd and the referee get two exports
    (caches, sequences, datagrams of their own), so a difference may be pmacctd's, not a
    decoder's - n/a with why, never a FAIL that blames one of the decoders."""
    from testbed.exporters import pmacctd
    from testbed.expect.check import judge
    from testbed.expect.context import Exporter
    from testbed.expect.verdict import NA

    pm = Exporter("p1", "r1", pmacctd.name, pmacctd.claims(), active_timeout=60, inactive_timeout=15)
    v = judge(CHECK, referee(2, 1), Context(pm, nfcapd=nfcapd_of((EXPORTER, 2))))
    assert v.status == NA and v.na == ("pmacctd sends each collector an export of its own (one plugin per "
                                       "collector): nfcapd and the referee decode different datagrams")
    assert not judge(CHECK, referee(2, 1), ctx(nfcapd_of((EXPORTER, 2)))).passed  # ours: one export, compared
