"""Property: whatever the timeouts and cache size, exported totals per key
equal what went in (nothing lost, nothing counted twice), on both engines
(quirks: the reference engine's only)."""
from collections import Counter

import pytest
from helpers import ENGINES, make_probe
from hypothesis import given, settings, strategies as st

from probe import quirks as Q
from probe.constants import Expiry
from probe.packet import FlowKey, Packet

# quirks that change records but never lose a packet (with an operator's flush)
KEEP_PACKETS = [Q.UPTIME_SECONDS, Q.FIRST_FLAGS_LOST, Q.PARTIAL_DATAGRAM_HELD,
                Q.IDLE_LARGE_FLOWS_STUCK, Q.STALE_ROUTE_FIELDS, Q.SHUTDOWN_LOSES_PARTIAL]

keys = st.builds(FlowKey, st.sampled_from([1, 2, 3]), st.sampled_from([4, 5]),
                 st.integers(0, 3), st.integers(0, 2), st.sampled_from([1, 6, 17]),
                 st.sampled_from([0, 8]), st.sampled_from([1, 2]))
packets = st.lists(st.tuples(keys, st.integers(20, 65535), st.integers(0, 63),
                             st.integers(0, 3000)), max_size=300)


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=300, deadline=None)
@given(packets, st.integers(1, 20), st.integers(1, 5000), st.integers(1, 5000),
       st.integers(1, 2000), st.sets(st.sampled_from(KEEP_PACKETS)))
def test_totals_per_key_are_exact(engine, stream, max_flows, active, inactive, scan, quirks):
    start = 10_000
    p = make_probe(engine, start, max_flows=max_flows, active_ms=active, inactive_ms=inactive,
                   scan_ms=scan, quirks=frozenset(quirks) if engine == "reference" else frozenset())
    want_p, want_o = Counter(), Counter()
    now = start
    for key, octets, flags, dt in stream:
        now += dt
        p.handle_packet(Packet(key, octets, flags), now)
        want_p[key] += 1
        want_o[key] += octets
        assert len(p.flows()) <= max_flows
    p.flush(now + 1)
    got_p, got_o = Counter(), Counter()
    seq = 0
    for d in p.datagrams_to_send():
        assert int.from_bytes(d.data[16:20], "big") == seq
        seq += len(d.records)
        for r in d.records:
            k = FlowKey(r.src, r.dst, r.sport, r.dport, r.proto, r.tos, r.input)
            got_p[k] += r.packets
            got_o[k] += r.octets
            assert r.first <= r.last
    assert got_p == want_p and got_o == want_o


@settings(max_examples=200, deadline=None)
@given(packets, st.integers(1, 5), st.sets(st.sampled_from(Q.ALL)))
def test_any_quirks_never_raise(stream, max_flows, quirks):
    """The reference engine: quirks are its own (r135400.QuirkyProbe)."""
    p = make_probe("reference", 0, max_flows=max_flows, active_ms=500, inactive_ms=300,
                   quirks=frozenset(quirks))
    now = 0
    for key, octets, flags, dt in stream:
        now += dt
        p.handle_packet(Packet(key, octets, flags | 0x01 * (dt % 3 == 0)), now)
    p.flush(now, Expiry.SHUTDOWN)
    assert p.stats.packets <= len(stream)
