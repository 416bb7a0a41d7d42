"""Checks that always apply read the exporter's claims: conservation compares flows as the
exporter keys them (what a flow check is n/a for, conservation does not fail for: later
fragments under the first fragment's ports were moved, not lost), and a failure an exporter
limit explains names that limit as its cause."""
from nfv5_build import UNIX_MS, datagram, record

from testbed.collector import Collector
from testbed.expect.check import judge
from testbed.expect.checks.conservation import Conservation
from testbed.expect.checks.sequence import Sequence
from testbed.expect.context import Context
from testbed.plan import resolve
from testbed.topology import loads
from testbed.traffic.ipv4 import FlowId
from testbed.traffic.plan import FlowTruth

H2, H1 = "10.0.2.10", "10.0.1.10"
FIRST = FlowId(H2, H1, 40001, 5001, 17, 0)
LATER = FlowId(H2, H1, 0, 0, 17, 0)  # later fragments: a flow of their own for ng_netflow
COUNTED = Conservation(name="counted", probe="p1")
LAB = """\
name: k
nodes:
  h1: {kind: host, interfaces: {eth0: 10.0.1.10/24}}
  h2: {kind: host, interfaces: {eth0: 10.0.2.10/24}}
  r1: {kind: router, interfaces: {eth0: 10.0.1.1/24, eth1: 10.0.2.1/24}}
links: [h1:eth0 -- r1:eth0, r1:eth1 -- h2:eth0]
probes:
  p1: {kind: KIND, node: r1, interfaces: [eth0, eth1], collectors: ["10.0.1.10:2055"]REQUIRE}
"""


def ctx(kind_name: str, truth: dict, require: str = "") -> Context:
    topo = loads(LAB.replace("KIND", kind_name).replace("REQUIRE", require), "k.yaml")
    return Context(resolve(topo).exporters["p1"].facts, truth=truth)


def truth(*flows) -> dict:
    return {f: FlowTruth(f, "h2", packets=p, octets=o) for f, p, o in flows}


def observed(*records):
    c = Collector()
    c.receive(datagram(list(records)), ("10.255.0.1", 40000), UNIX_MS)
    return c.result()


def rec(flow: FlowId, packets: int, octets: int, tos: int | None = None) -> bytes:
    return record(src=flow.src, dst=flow.dst, sport=flow.sport, dport=flow.dport, proto=flow.proto,
                  tos=flow.tos if tos is None else tos, packets=packets, octets=octets)


SENT = truth((FIRST, 4, 2288), (LATER, 8, 3584))
MOVED = observed(rec(FIRST, 12, 5872))  # pmacctd and fprobe: one record with the first's ports


def test_later_fragments_under_the_first_fragments_ports_were_moved_not_lost():
    v = judge(COUNTED, MOVED, ctx("pmacctd", SENT))
    assert v.status == "PASS", v.problems
    assert v.observed == ("2 flows, 12 packets: exported exactly; compared as the exporter keys flows: "
                          "pmacctd keys later fragments with the first fragment's ports")


def test_fragments_really_lost_still_fail():
    v = judge(COUNTED, observed(rec(FIRST, 9, 4000)), ctx("fprobe", SENT))
    assert v.status == "FAIL"
    assert v.problems[1] == ("udp 10.0.2.10:40001 -> 10.0.1.10:5001 and 1 more flows keyed as one: "
                             "sent 12 packets / 5872 octets, exported 9 / 4000")


def test_ng_netflow_keying_or_a_require_keeps_the_strict_comparison():
    assert judge(COUNTED, MOVED, ctx("netflow-lab", SENT)).status == "FAIL"
    required = ctx("pmacctd", SENT, ", require: [later_fragments_ports_0]")
    assert judge(COUNTED, MOVED, required).status == "FAIL"


def test_two_tos_values_in_one_record_when_tos_is_not_in_the_key():
    a, b = FlowId(H1, H2, 7, 5000, 17, 0x20), FlowId(H1, H2, 7, 5000, 17, 0x08)
    sent = truth((a, 3, 300), (b, 2, 200))
    one = observed(rec(a, 5, 500, tos=0x08))  # pmacctd keeps the last packet's TOS
    v = judge(COUNTED, one, ctx("pmacctd", sent))
    assert v.status == "PASS" and v.observed.endswith("pmacctd does not put TOS in the flow key"), v
    assert judge(COUNTED, one, ctx("netflow-lab", sent)).status == "FAIL"


def test_icmp_in_other_port_fields():
    echo = FlowId(H1, H2, 0, 8 * 256, 1, 0)
    sent = truth((echo, 3, 252))
    fprobe_way = observed(record(src=H1, dst=H2, sport=8, dport=0, proto=1, packets=3, octets=252))
    v = judge(COUNTED, fprobe_way, ctx("fprobe", sent))
    assert v.status == "PASS" and "fprobe encodes ICMP as type in src port, code in dst port" in v.observed


def test_a_failure_the_exporters_limit_explains_names_it_as_its_cause():
    sent = truth((FIRST, 5, 500))
    nothing = Collector().result()
    v = judge(COUNTED, nothing, ctx("softflowd", sent))
    assert v.status == "FAIL" and v.cause.startswith("softflowd sets a libpcap timeout of 0")
    assert judge(COUNTED, nothing, ctx("fprobe", sent)).cause.startswith("a burst of more than its pending queue")
    assert judge(COUNTED, nothing, ctx("netflow-lab", sent)).cause == ""  # it claims every packet
    seq = Sequence(name="seq", probe="p1")
    assert judge(seq, nothing, ctx("softflowd", sent)).cause.startswith("softflowd sets a libpcap timeout")
    gap = Collector()
    for seq_no, uptime in ((0, 100_000), (60, 100_500)):  # 30 records lost between them
        gap.receive(datagram(30, seq=seq_no, uptime=uptime), ("10.255.0.1", 40000), UNIX_MS + uptime)
    v = judge(seq, gap.result(), ctx("softflowd", sent))
    assert v.status == "FAIL" and v.cause == ""  # a gap on the wire is not packets left unread
