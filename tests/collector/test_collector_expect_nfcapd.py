"""`nfcapd_agrees` never passes on nothing: 0 flows against 0 records judged nothing."""
from nfv5_build import UNIX_MS, datagram

from testbed.collector import Collector
from testbed.collector.nfcapd import NfcapdResult, NfdumpExporter, NfdumpTotals
from testbed.expect.checks.nfcapd_agrees import NfcapdAgrees
from contexts import context

CHECK = NfcapdAgrees(name="agree", probe="p1", collector="nf")
EXPORTER = "10.255.0.1"


def nfcapd(flows: int, packets: int) -> dict:
    exporters = (NfdumpExporter(EXPORTER, 0, 1, flows, 0),) if flows else ()
    return {"nf": NfcapdResult(NfdumpTotals(flows, packets, packets * 100, 0), exporters, 0)}


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
