"""Every exporter kind, live in a router namespace: what it claims holds, and what it does
not claim it does not fill (so a check marked n/a for it is not hiding a value).

One run per kind (tests/exporters/drive.py): known flows in, the reference
collector's records out, compared claim by claim.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from exporters import drive
from exporters.routedlab import H1, H2, expected_route

from testbed.exporters import (ICMP_DPORT, ICMP_NONE, ICMP_SPORT_DPORT, CommandKind,
                               claims_from_mapping, kind)

pytestmark = pytest.mark.root

# fprobe once more, as a user would put it under test: a per-interface command and stated claims
FPROBE_COMMAND = CommandKind(
    ("fprobe", "-p", "-i", "{interface}", "-l", "2", "-c", "{workdir}", "-s", "1", "-d", "{inactive}",
     "-e", "{active}", "-x", "{ifindex}:0", "-a", "{address}", "-f", "not ether src {mac}", "{collectors}"),
    claims_from_mapping({"fills": ["input", "tcp_flags", "tos"], "icmp": "sport-dport", "timeout_step": 1,
                         "timer_window": [0, 12], "accounts_every_packet": False, "engine_fields": False,
                         "steady_uptime": False,
                         "unsupported": {"engine_id": "fprobe writes 0"}}),
    name="fprobe-command")
KINDS = {"netflow-lab": kind("netflow-lab"), "softflowd": kind("softflowd"), "pmacctd": kind("pmacctd"),
         "fprobe": kind("fprobe"), "command": FPROBE_COMMAND}
TOOLS = {"softflowd": "softflowd", "pmacctd": "pmacctd", "fprobe": "fprobe", "command": "fprobe"}
ZERO = {"input": 0, "output": 0, "next_hop": "0.0.0.0", "src_mask": 0, "dst_mask": 0, "tcp_flags": 0, "tos": 0}


@pytest.fixture(scope="module", params=list(KINDS))
def observed(request, rl, tmp_path_factory):
    name = request.param
    tool = TOOLS.get(name)
    if tool and not shutil.which(tool):
        pytest.skip(f"needs {tool} (ci/setup installs it)")
    k = KINDS[name]
    engine = {} if "engine_id" in k.claims().unsupported else {"engine_type": 7, "engine_id": 9}
    o = drive.run(rl, k, tmp_path_factory.mktemp(name), spec_kw=engine)
    return name, k.claims(drive.spec_for(rl, tmp_path_factory.getbasetemp(), 0)), o, engine


def test_it_stopped_cleanly_and_its_sequences_are_whole(observed):
    name, claims, o, _ = observed
    assert o.stopped.clean, o.stopped.problems
    assert o.result.sequence, f"{name} exported nothing: {o.logs}"
    for report in o.result.sequence:
        assert (report.gaps, report.duplicates, report.reordered) == (0, 0, 0), report
        if claims.steady_uptime:
            assert report.resets == 0, report


def test_every_flow_is_exported_and_counted(observed):
    name, claims, o, _ = observed
    for flow, truth in o.truth.items():
        if flow.sport == 40003:
            continue  # the TOS pair: test_tos_key
        recs = o.records(flow)
        assert recs, f"{name}: no record of {flow}"
        packets, octets = sum(r.packets for r in recs), sum(r.octets for r in recs)
        if claims.accounts_every_packet:
            assert (packets, octets) == (truth.packets, truth.octets), flow
        else:
            assert 0 < packets <= truth.packets and octets <= truth.octets, flow


def test_route_fields_are_filled_as_claimed(observed, rl):
    name, claims, o, _ = observed
    for flow in o.truth:
        want = expected_route(flow.src, flow.dst)
        want["input"], want["output"] = rl.ifindex[want.pop("in")], rl.ifindex[want.pop("out")]
        for rec in o.records(flow):
            for field in ("input", "output", "next_hop", "src_mask", "dst_mask"):
                got = getattr(rec, field)
                if field in claims.fills:
                    assert got == want[field], (name, field, flow)
                elif field not in claims.unreliable:
                    assert got == ZERO[field], f"{name} fills {field} but does not claim it: {flow}"


def test_tcp_flags_as_claimed(observed):
    name, claims, o, _ = observed
    session, syn = o.flow(41000, 6, H1), o.flow(41002, 6)
    got_session = 0
    for rec in o.records(session):
        got_session |= rec.tcp_flags
    (syn_rec,) = o.records(syn)
    if "tcp_flags" in claims.fills:
        assert got_session == o.truth[session].flags == 0x1B
        assert syn_rec.tcp_flags == (0x02 if claims.first_packet_flags else 0)
    else:
        assert got_session == syn_rec.tcp_flags == 0


def test_tos_key(observed):
    name, claims, o, _ = observed
    pair = [f for f in o.truth if f.sport == 40003]
    recs = o.records(pair[0])
    if claims.tos_in_key:
        assert sorted((r.tos, r.packets) for r in recs) == [(0, 5), (0x20, 5)]
    else:
        assert len(recs) == 1, f"{name}: TOS is in its key after all: {recs}"
        assert recs[0].packets <= 10 and (recs[0].tos in (0, 0x20) if "tos" in claims.fills else recs[0].tos == 0)
    for flow in o.truth:  # a flow of one TOS (0 here): exported with it
        if flow.sport != 40003:
            assert all(r.tos == 0 for r in o.records(flow))


def test_icmp_encoding(observed):
    name, claims, o, _ = observed
    (unreach,) = o.records(o.flow(proto=1, src=H1))  # type 3 code 3
    (exceeded,) = o.records(o.flow(proto=1, src=H2))  # type 11 code 0
    want = {ICMP_DPORT: [(0, 3 * 256 + 3), (0, 11 * 256)], ICMP_SPORT_DPORT: [(3, 3), (11, 0)],
            ICMP_NONE: [(0, 0), (0, 0)]}[claims.icmp]
    assert [(unreach.sport, unreach.dport), (exceeded.sport, exceeded.dport)] == want


def test_engine_fields(observed):
    name, claims, o, engine = observed
    want = (engine.get("engine_type", 0), engine.get("engine_id", 0))
    assert {(r.header.engine_type, r.header.engine_id) for r in o.result.find()} == {want}
    if not claims.engine_fields:
        assert want == (0, 0)


def test_timers_within_the_claimed_window(observed):
    """A quiet UDP flow goes after the inactive timeout, within the exporter's window;
    a TCP session at its FIN only if it claims to."""
    name, claims, o, _ = observed
    lo, hi = claims.export_window(drive.INACTIVE_S)
    quiet = o.flow(40000)
    (rec,) = o.records(quiet)
    lag = rec.recv_ms / 1000 - o.last_sent[quiet]
    assert lo - 0.1 <= lag <= hi + 0.3, (name, lag, (lo, hi))
    session = o.flow(41000, 6, H1)
    fin = next(r for r in o.records(session) if r.tcp_flags & 0x01)
    fin_lag = fin.header.export_ms / 1000 - fin.end_ms / 1000
    if claims.expires_on_fin_rst:
        assert fin_lag < lo, (name, fin_lag)
    else:
        assert fin_lag >= lo - 0.1, (name, fin_lag)


def test_shutdown_flush(observed):
    """The flow sent right before the stop: exported when the exporter stops, if it claims so."""
    name, claims, o, _ = observed
    late = o.flow(drive.LATE_SPORT)
    earliest = claims.export_window(drive.INACTIVE_S)[0]
    assert o.stop_at - o.last_sent[late] < earliest, "too slow: a timer may have exported the late flow"
    recs = o.records(late)
    if claims.exports_on_shutdown:
        # recv_ms is whole milliseconds: a flush within the stop's first ms reads as before it
        stop_ms = int(o.stop_at * 1000)
        assert recs and all(r.recv_ms >= stop_ms for r in recs), (name, stop_ms, recs)
    else:
        assert not recs


def test_exporter_addresses(observed, rl):
    name, claims, o, _ = observed
    launch = KINDS[name].launch(drive.spec_for(rl, Path("/unused"), 1))
    want = {p.exports_from for p in launch.processes if p.exports_from} or {rl.addresses[rl.ifname["ic"]]}
    assert {r.exporter for r in o.result.find()} == want
