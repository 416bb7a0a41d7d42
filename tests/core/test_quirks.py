"""Each r135400 quirk reproduces its field bug, at the point where it differs.

The reference engine only: quirks are r135400.QuirkyProbe's, a subclass of it
(the compiled engine has none, and refuses them: tests/fast/test_engine_choice)."""
import pytest
from helpers import ACK, FIN, SYN, ip, key, make_probe, pkt, records

from probe import quirks as Q
from probe.constants import DLT_RAW, Expiry
from probe.routes import Route, RouteTable

T0 = 5_000_000


def test_uptime_seconds():
    p = make_probe("reference", T0, quirks=frozenset({Q.UPTIME_SECONDS}))
    p.handle_packet(pkt(), T0 + 1_000)
    p.handle_packet(pkt(), T0 + 6_000)
    p.flush(T0 + 7_500)
    (d,) = p.datagrams_to_send()
    (r,) = d.records
    assert r.last - r.first == 5  # seconds, read as 5 ms by every collector
    assert int.from_bytes(d.data[4:8], "big") == 7


def test_first_flags_lost_inherits_previous_user_flags():
    p = make_probe("reference", T0, quirks=frozenset({Q.FIRST_FLAGS_LOST}))
    p.handle_packet(pkt(sport=1, flags=SYN), T0)
    p.handle_packet(pkt(sport=1, flags=FIN | ACK), T0 + 1)  # FIN on a later packet still expires
    p.handle_timer(T0 + 1000)  # the next run frees its entry
    p.handle_packet(pkt(sport=7, dport=53, proto=17), T0 + 1001)  # reuses the freed entry
    p.handle_packet(pkt(sport=9, flags=SYN), T0 + 1002)
    p.flush(T0 + 1003)
    recs = {r.sport: r for r in records(p)}
    assert recs[1].tcp_flags == FIN | ACK  # the first SYN was never stored
    assert recs[7].tcp_flags == FIN | ACK  # a UDP flow showing FIN/ACK
    assert recs[9].tcp_flags == 0  # a lone SYN shows 0x00


def test_first_flags_lost_fin_on_first_packet_does_not_expire():
    p = make_probe("reference", T0, quirks=frozenset({Q.FIRST_FLAGS_LOST}))
    p.handle_packet(pkt(flags=FIN), T0)
    assert len(p.flows()) == 1


def test_partial_datagram_held():
    p = make_probe("reference", T0, inactive_ms=1000, quirks=frozenset({Q.PARTIAL_DATAGRAM_HELD}))
    for port in range(3):
        p.handle_packet(pkt(sport=port), T0)
    p.handle_timer(T0 + 60_000)
    assert records(p) == []
    for port in range(3, 30):
        p.handle_packet(pkt(sport=port), T0 + 60_001)
    p.handle_timer(T0 + 120_000)
    assert len(records(p)) == 30  # only a full datagram leaves


def test_shutdown_loses_partial():
    p = make_probe("reference", T0, quirks=frozenset({Q.SHUTDOWN_LOSES_PARTIAL}))
    for port in range(35):
        p.handle_packet(pkt(sport=port), T0)
    p.flush(T0 + 1, Expiry.SHUTDOWN)
    assert len(records(p)) == 30
    q = make_probe("reference", T0, quirks=frozenset({Q.SHUTDOWN_LOSES_PARTIAL}))
    q.handle_packet(pkt(), T0)
    q.flush(T0 + 1, Expiry.FLUSH)  # an operator's flush is not the node's close
    assert len(records(q)) == 1


def test_idle_large_flows_stuck():
    p = make_probe("reference", T0, inactive_ms=1000, max_flows=100,
                   quirks=frozenset({Q.IDLE_LARGE_FLOWS_STUCK}))
    for i in range(10):
        p.handle_packet(pkt(sport=1, proto=17), T0 + i)
    p.handle_packet(pkt(sport=2, proto=17), T0 + 10)
    p.handle_timer(T0 + 60_000)
    assert [r.sport for r in records(p)] == [2]  # the 10-packet flow stays
    assert len(p.flows()) == 1


def test_idle_large_flows_stuck_no_active_check_in_scan():
    p = make_probe("reference", T0, active_ms=2000, inactive_ms=60_000, max_flows=100,
                   quirks=frozenset({Q.IDLE_LARGE_FLOWS_STUCK}))
    p.handle_packet(pkt(), T0)
    p.handle_packet(pkt(), T0 + 1500)
    p.handle_timer(T0 + 10_000)
    assert records(p) == []


def test_cache_full_drops():
    p = make_probe("reference", T0, max_flows=2, quirks=frozenset({Q.CACHE_FULL_DROPS}))
    for port in range(5):
        p.handle_packet(pkt(sport=port), T0)
    p.flush(T0 + 1)
    assert sum(r.packets for r in records(p)) == 2
    assert p.stats.evictions == 0 and p.stats.packets == 2


def _routes():
    t = RouteTable()
    t.add(ip("10.0.2.0"), 24, Route(3, ip("10.0.9.1"), 24))
    t.add(ip("10.0.1.0"), 24, Route(2, 0, 24))
    return t


@pytest.mark.parametrize("quirk,expect", [
    (None, (0, 0, 0)),
    (Q.STALE_ROUTE_FIELDS, (3, ip("10.0.9.1"), 24)),
])
def test_stale_route_fields(quirk, expect):
    quirks = frozenset({quirk}) if quirk else frozenset()
    p = make_probe("reference", T0, routes=_routes(), quirks=quirks)
    p.handle_packet(pkt(dst="10.0.2.2", flags=FIN), T0)  # via a gateway, expires
    p.handle_timer(T0 + 1000)  # the next run frees its entry
    p.handle_packet(pkt(dst="192.0.2.1", sport=5), T0 + 1001)  # no route: reuses the entry
    p.flush(T0 + 1002)
    r = [r for r in records(p) if r.sport == 5][0]
    assert (r.output, r.next_hop, r.dst_mask) == expect


def test_truncated_first_fragment():
    from scapy.layers.inet import IP
    from scapy.packet import Raw
    frame = bytes(IP(flags="MF", proto=17) / Raw(b"\x00" * 2))
    for quirks, accounted in ((frozenset(), 1), (frozenset({Q.TRUNCATED_FIRST_FRAGMENT}), 0)):
        p = make_probe("reference", T0, quirks=quirks)
        p.handle_frame(frame, DLT_RAW, 1, T0)
        assert p.stats.packets == accounted


def test_compat_switches_on_all_and_unknown_names_fail():
    assert Q.parse([], "r135400") == frozenset(Q.ALL)
    with pytest.raises(ValueError, match="unknown quirk"):
        Q.parse(["nope"])
