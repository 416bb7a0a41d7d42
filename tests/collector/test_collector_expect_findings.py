"""`findings` says what it counted: on a failure, the findings by code, never "no findings"."""
from nfv5_build import UNIX_MS, datagram, record

from testbed.collector import Collector
from testbed.expect.checks.findings import Findings
from contexts import context

SOURCE = ("10.0.9.1", 40000)
UPTIME = 100_000


def _result(*records: bytes):
    c = Collector()
    c.receive(datagram(list(records), uptime=UPTIME), SOURCE, UNIX_MS)
    return c.result()


def _clean(**kw) -> bytes:
    return record(first=UPTIME - 10_000, last=UPTIME - 1_000, **kw)


def test_a_failure_counts_its_findings_by_code():
    result = _result(_clean(), _clean(proto=6, tcp_flags=0, sport=40000, dport=80),
                     _clean(proto=6, tcp_flags=0, sport=40001, dport=80))
    v = Findings(name="clean", probe="p1").evaluate(result, context())
    assert not v.passed and v.observed == "3 records, 2 tcp-flags-zero"
    assert len(v.problems) == 2 and v.problems[0].startswith("tcp-flags-zero: ")


def test_a_pass_says_no_findings():
    v = Findings(name="clean", probe="p1").evaluate(_result(_clean(), _clean(sport=7)), context())
    assert v.passed and v.observed == "2 records, no findings"
