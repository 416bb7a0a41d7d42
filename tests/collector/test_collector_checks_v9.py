"""The existing check kinds judge v9 and IPFIX records unchanged: the same flows,
exported as v5, as v9 (sysUpTime-relative times, 32-bit counters) and as IPFIX
(absolute milliseconds and 64-bit counters; ICMP in its own template with
icmpTypeCodeIPv4; or times as deltas before the export), go through the
collector, and the real checks of tests/collector/labs/every-check.yaml (flow
with interfaces, next hop and masks, exported_within, active_split,
conservation, sequence, findings, no_malformed) give the same verdicts - all
passing, and all failing the same way when the exporter gets the next hop
wrong."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from nf9_build import data, ipfix, ipfix_templates, record, v9, v9_templates
from nfv5_build import datagram as v5_datagram
from nfv5_build import record as v5_record

from testbed.collector import CheckConfig, Collector
from testbed.expect.check import judge
from testbed.topology import load
from testbed.traffic.plan import FlowId, FlowTruth
from contexts import ours
from testbed.expect.context import Context
from testbed.plan import resolve

LAB = Path(__file__).parent / "labs" / "every-check.yaml"
WORKDIR = Path("/nonexistent/every-check")  # resolving names files in it; nothing is written
T = 1_790_000_000_000  # ms, on a whole second
UPTIME_AT_T = 500_000
H1, H2, NH = "10.0.1.10", "10.0.2.10", "10.0.12.2"


@dataclass
class Rec:
    src: str
    dst: str
    sport: int
    dport: int
    proto: int
    packets: int
    octets: int
    start: int  # ms after T
    end: int
    input: int
    output: int
    flags: int = 0
    next_hop: str = NH


STREAM = Rec(H1, H2, 40000, 5000, 17, 20, 4000, 100, 500, 2, 3)
OUT = Rec(H1, H2, 40001, 80, 6, 5, 400, 0, 40, 2, 3, 0x1B)
BACK1 = Rec(H2, H1, 80, 40001, 6, 5, 3000, 10, 30, 3, 2, 0x12)  # the download, cut by the active timeout
BACK2 = Rec(H2, H1, 80, 40001, 6, 3, 1500, 3010, 3040, 3, 2, 0x11)
PING = Rec(H1, H2, 0, 2048, 1, 3, 252, 600, 2600, 2, 3)
DATAGRAMS = [(3500, [OUT, BACK1, PING]), (3600, [STREAM, BACK2])]  # (receive ms after T, records)


def truth() -> dict:
    out = {}
    for r, step in ((STREAM, 0), (OUT, 1), (BACK1, 1), (PING, 2)):
        f = FlowId(r.src, r.dst, r.sport, r.dport, r.proto, 0)
        t = out.setdefault(f, FlowTruth(f, "h1" if r.src == H1 else "h2", step=step))
        t.packets, t.octets = t.packets + r.packets, t.octets + r.octets
        t.first, t.last = (T + r.start) / 1000, (T + r.end) / 1000
    back = out[FlowId(H2, H1, 80, 40001, 6, 0)]
    back.packets, back.octets, back.last = 8, 4500, (T + BACK2.end) / 1000
    return out


# -- the same records in each version (encoders in the tests: nfv5_build, nf9_build) --------------

def as_v5(i: int, recv: int, recs: list[Rec], seq: int) -> bytes:
    up = UPTIME_AT_T + recv
    return v5_datagram([v5_record(src=r.src, dst=r.dst, next_hop=r.next_hop, input=r.input, output=r.output,
                                  packets=r.packets, octets=r.octets, first=UPTIME_AT_T + r.start,
                                  last=UPTIME_AT_T + r.end, sport=r.sport, dport=r.dport, tcp_flags=r.flags,
                                  proto=r.proto, src_mask=24, dst_mask=24) for r in recs],
                       seq=seq, uptime=up, unix_ms=T + recv)


V9 = [(8, 4), (12, 4), (15, 4), (10, 2), (14, 2), (2, 4), (1, 4), (22, 4), (21, 4), (7, 2), (11, 2), (6, 1),
      (4, 1), (5, 1), (9, 1), (13, 1)]


def as_v9(i: int, recv: int, recs: list[Rec], seq: int) -> bytes:
    up = UPTIME_AT_T + recv  # in ms; the export time beside it in whole seconds (flows read up to 1 s early)
    rows = [record(V9, {8: r.src, 12: r.dst, 15: r.next_hop, 10: r.input, 14: r.output, 2: r.packets,
                        1: r.octets, 22: UPTIME_AT_T + r.start, 21: UPTIME_AT_T + r.end, 7: r.sport, 11: r.dport,
                        6: r.flags, 4: r.proto, 9: 24, 13: 24}) for r in recs]
    sets = ([v9_templates((260, V9))] if i == 0 else []) + [data(260, rows)]
    return v9(sets, seq=i, uptime=up, unix_secs=(T + recv) // 1000, count=len(rows) + (i == 0))


IPFIX_FLOW = [(8, 4), (12, 4), (15, 4), (10, 4), (14, 4), (2, 8), (1, 8), (152, 8), (153, 8), (7, 2), (11, 2),
              (6, 2), (4, 1), (9, 1), (13, 1)]
IPFIX_ICMP = [(8, 4), (12, 4), (15, 4), (10, 4), (14, 4), (2, 8), (1, 8), (152, 8), (153, 8), (32, 2), (4, 1),
              (9, 1), (13, 1)]
IPFIX_DELTA = [(8, 4), (12, 4), (15, 4), (252, 4), (253, 4), (86, 4), (85, 3), (158, 4), (159, 4), (180, 2),
               (181, 2), (182, 2), (183, 2), (6, 1), (4, 1), (9, 1), (13, 1), (32, 2)]


def _ipfix_values(r: Rec, export_ms: int) -> dict:
    return {8: r.src, 12: r.dst, 15: r.next_hop, 10: r.input, 14: r.output, 2: r.packets, 1: r.octets,
            152: T + r.start, 153: T + r.end, 7: r.sport, 11: r.dport, 6: r.flags, 4: r.proto, 9: 24, 13: 24,
            32: r.dport, 252: r.input, 253: r.output, 86: r.packets, 85: r.octets,
            158: (export_ms - T - r.start) * 1000, 159: (export_ms - T - r.end) * 1000,
            180: r.sport * (r.proto == 17), 181: r.dport * (r.proto == 17), 182: r.sport * (r.proto == 6),
            183: r.dport * (r.proto == 6)}


def as_ipfix(i: int, recv: int, recs: list[Rec], seq: int) -> bytes:
    """Absolute times, 64-bit counters; ICMP in a template of its own (as softflowd)."""
    export_s = (T + recv) // 1000
    sets = [ipfix_templates((300, IPFIX_FLOW), (301, IPFIX_ICMP))] if i == 0 else []
    for tid, tmpl, icmp in ((300, IPFIX_FLOW, False), (301, IPFIX_ICMP, True)):
        rows = [record(tmpl, _ipfix_values(r, export_s * 1000)) for r in recs if (r.proto == 1) == icmp]
        if rows:
            sets.append(data(tid, rows))
    return ipfix(sets, seq=seq, export_s=export_s, domain=7)


def as_ipfix_delta(i: int, recv: int, recs: list[Rec], seq: int) -> bytes:
    """Times as microseconds before the export, total counters, the ports in TCP/UDP elements,
    physical interfaces, a 3-octet octet count (RFC 7011 6.2). The deltas count back from the
    header's export time, whole seconds: this exporter rounds it up, so that none is negative."""
    export_s = (T + recv + 999) // 1000
    rows = [record(IPFIX_DELTA, _ipfix_values(r, export_s * 1000)) for r in recs]
    sets = ([ipfix_templates((400, IPFIX_DELTA))] if i == 0 else []) + [data(400, rows)]
    return ipfix(sets, seq=seq, export_s=export_s)


ENCODERS = {"v5": as_v5, "v9": as_v9, "ipfix": as_ipfix, "ipfix-delta": as_ipfix_delta}


def verdicts(encode, next_hop: str = NH) -> list[tuple]:
    topo = load(LAB)
    c = Collector(CheckConfig(clock_slack_ms=None))
    seq = 0
    for i, (recv, recs) in enumerate(DATAGRAMS):
        recs = [Rec(**{**r.__dict__, "next_hop": next_hop}) for r in recs]
        got = c.receive(encode(i, recv, recs, seq), ("10.255.0.1", 40000), T + recv)
        assert got.malformed is None, got.malformed
        seq += len(recs)
    c.finish(T + 9000)
    facts = resolve(topo, WORKDIR).exporters["p1"].facts  # the probe as the run plan resolves it
    ctx = Context(ours(ifindexes=facts.ifindexes, kernel_ifindexes=facts.ifindexes), truth=truth(),
                  routes={"r1": (("10.0.1.0/24", "", "eth0"), ("10.0.2.0/24", "10.0.12.2", "eth1"),
                                 ("10.0.12.0/24", "", "eth1"))})
    observed = c.result()
    assert len(observed.records) == 5
    return [(v.name, v.passed, v.observed, v.problems) for v in (judge(check, observed, ctx) for check in topo.expect)]


@pytest.mark.parametrize("version", [v for v in ENCODERS if v != "v5"])
def test_every_check_judges_v9_and_ipfix_records_as_v5_ones(version):
    want = verdicts(as_v5)
    assert all(ok for _, ok, _, _ in want), want
    assert verdicts(ENCODERS[version]) == want


@pytest.mark.parametrize("version", ENCODERS)
def test_and_fails_them_alike(version):
    got = {name: (ok, problems) for name, ok, _, problems in verdicts(ENCODERS[version], next_hop="10.0.12.9")}
    assert not got["stream-fields"][0]
    assert got["stream-fields"][1] == ("next_hop: expected 10.0.12.2 (r1 route 10.0.2.0/24 via 10.0.12.2 dev eth1), "
                                       "got 10.0.12.9",)
    assert [name for name, (ok, _) in got.items() if not ok] == ["stream-fields"]


def test_an_ipv6_record_is_in_no_ipv4_match():
    from ipaddress import IPv4Network

    from testbed.expect.match import Match
    v6 = Rec("2001:db8::1", "2001:db8::2", 1, 2, 17, 1, 60, 0, 0, 0, 0)
    assert not Match(src=(IPv4Network("10.0.1.0/24"),))(v6) and Match(dport=2)(v6)
