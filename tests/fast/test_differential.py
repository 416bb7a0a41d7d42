"""The fast engine against the reference engine (the oracle), step by step on
random streams: every datagram byte for byte (NetFlow v5 and v9, the v9
template refreshed by datagrams and by time), every record with its reason,
the statistics, the scan clock and the live flows must be the same.

The streams mix decodable and broken frames of every link type (wire.py:
VLAN tags in Ethernet and SLL, SLL/SLL2 outgoing copies (skipped, or counted
as a host's), BIG TCP (and UDP: tunnels) with lengths on the wire up to and
past Linux's largest), FIN/RST on first and later packets, times at the
active/inactive boundaries and clock steps back, cache sizes from 1 up
(eviction), route changes between packets, timeout changes, flushes (whole,
or the oldest few flows at a time); tables that start at one entry, with hashes narrowed to force
collisions and wrap-around runs."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st
from twins import Twins
from wire import ADDRS, FLAGS, frames

from probe.constants import GSO_MAX_SIZE, Expiry
from probe.engine import Config
from probe.packet import FlowKey, Packet
from probe.routes import Route, RouteTable

ROUTES = [  # (network, plen, route): one longer prefix, a gateway, a big ifindex, a reject
    (0x0A000000, 8, Route(2, 0, 8)),
    (0x0A000000, 24, Route(3, 0x0A090909, 24)),
    (0xAC100000, 12, Route(70000, 0, 12)),
    (0, 0, Route(4, 0xC0A80101, 0)),
    (0xC0A80100, 24, Route(0, 0, 24)),
]

times = st.one_of(st.sampled_from([0, 0, 1, 7, 999, 1000, 1001]), st.integers(-50, 3000),
                  st.sampled_from(["inactive", "active", "template"]).flatmap(
                      lambda name: st.tuples(st.just(name), st.integers(-1, 1))),
                  st.just(10 ** 9))  # a jump past every catch-up limit
keys = st.builds(FlowKey, st.sampled_from(ADDRS), st.sampled_from(ADDRS), st.integers(0, 2),
                 st.integers(0, 2), st.sampled_from([1, 6, 17]), st.sampled_from([0, 8]),
                 st.sampled_from([1, 2, 70000]))
events = st.one_of(
    st.tuples(st.just("frame"), frames(), st.sampled_from([1, 2, 70000]), times),
    st.tuples(st.just("frame"), frames(), st.sampled_from([1, 2]), times),
    st.tuples(st.just("packet"), keys, st.one_of(st.integers(20, 65535),
                                                 st.integers(65536, GSO_MAX_SIZE)),
              st.sampled_from(FLAGS),
              st.booleans(), times),
    st.tuples(st.just("timer"), times),
    st.tuples(st.just("flush"), times, st.sampled_from([Expiry.FLUSH, Expiry.SHUTDOWN]),
              st.one_of(st.none(), st.integers(0, 7))),  # the `most` oldest flows
    st.tuples(st.just("timeouts"), st.one_of(st.none(), st.integers(1, 4000)),
              st.one_of(st.none(), st.integers(1, 4000))),
    st.tuples(st.just("route"), st.integers(0, len(ROUTES) - 1), st.booleans()),
)

def _ms(most: int):  # small values often: scans then fall on the timeout boundaries
    return st.one_of(st.sampled_from([1, 2, 3, 5, 10, 100]), st.integers(1, most))


configs = st.builds(Config, inactive_ms=_ms(4000), active_ms=_ms(4000),
                    scan_ms=_ms(2500), max_flows=st.integers(1, 6),
                    engine_type=st.integers(0, 255), engine_id=st.integers(0, 255),
                    icmp_ports=st.booleans(), outgoing=st.booleans(),
                    export_version=st.sampled_from([5, 9]),
                    template_ms=_ms(4000),
                    template_packets=st.one_of(st.integers(1, 4), st.just(2**32 - 1)))
TABLES = [{}, {"capacity": 1}, {"capacity": 1, "hash_mask": 0},
          {"capacity": 2, "hash_mask": 3, "hash_or": 0xFFFFFFFC}]


class Routes:
    """A route lookup whose routes change between packets (a mirror of the kernel's)."""

    def __init__(self) -> None:
        self.present = {0, 1}

    def lookup(self, addr: int) -> Route | None:
        table = RouteTable()
        for i in sorted(self.present):
            table.add(*ROUTES[i])
        return table.lookup(addr)


def _step(now: int, dt, p: Twins) -> int:
    if isinstance(dt, tuple):  # just below, at or just past a timeout (or v9's template time)
        name, delta = dt
        ms = {"inactive": p.fast.engine.inactive_ms, "active": p.fast.engine.active_ms,
              "template": p.ref.config.template_ms}[name]
        return max(0, now + ms + delta)
    return max(0, now + dt)


@settings(max_examples=500, deadline=None)
@given(configs, st.lists(events, max_size=80), st.sampled_from(TABLES), st.booleans(),
       st.integers(0, 5000))
def test_same_datagrams_stats_and_flows(config, stream, table, with_routes, start):
    routes = Routes() if with_routes else None
    p = Twins(config, routes, start, **table)
    now = start
    for ev in stream:
        kind = ev[0]
        if kind == "frame":
            (data, linktype, wire_len), ifindex, dt = ev[1:]
            now = _step(now, dt, p)
            p.both("handle_frame", data, linktype, ifindex, now, wire_len)
        elif kind == "packet":
            key, octets, flags, truncated, dt = ev[1:]
            now = _step(now, dt, p)
            p.both("handle_packet", Packet(key, octets, flags, truncated), now)
        elif kind == "timer":
            now = _step(now, ev[1], p)
            p.both("handle_timer", now)
        elif kind == "flush":
            now = _step(now, ev[1], p)
            p.both("flush", now, ev[2], ev[3])
        elif kind == "timeouts":
            p.both("set_timeouts", ev[1], ev[2])
        elif routes is not None:  # a route appears or goes between two packets
            (routes.present.add if ev[2] else routes.present.discard)(ev[1])
    p.both("flush", now, Expiry.SHUTDOWN)


def test_counter_overflow_splits_the_same_way():
    """A flow of 65,537 packets of 65,535 octets: split before 2^32 octets."""
    p = Twins(Config(), start_ms=0)
    pkt = Packet(FlowKey(1, 2, 3, 4, 17, 0, 1), 65535, 0)
    for i in range(65537):
        p.ref.handle_packet(pkt, i)
        p.fast.handle_packet(pkt, i)
    p.compare()
    p.both("flush", 70000, Expiry.SHUTDOWN)
    assert p.ref.stats.exported[Expiry.COUNTER_OVERFLOW] == 1


def test_big_tcp_packets_split_a_flow_before_its_counter_wraps():
    """BIG TCP packets (up to 8 x 65535 octets) can pass ng_netflow's limit, which
    keeps room for one packet of 64 KiB: the flow is exported first and the packet
    starts the next one; no record's octets wrap."""
    p = Twins(Config(), start_ms=0)
    key = FlowKey(1, 2, 3, 4, 6, 0, 1)
    below = 0xFFFFFFFF - 65535 - 1  # one octet below the limit: the flow stays
    sizes = [GSO_MAX_SIZE] * (below // GSO_MAX_SIZE) + [below % GSO_MAX_SIZE, GSO_MAX_SIZE, 100]
    for i, octets in enumerate(sizes):
        p.ref.handle_packet(Packet(key, octets, 0x10), i // 10)
        p.fast.handle_packet(Packet(key, octets, 0x10), i // 10)
    p.compare()
    p.both("flush", 9000, Expiry.SHUTDOWN)
    assert [(r.packets, r.octets, r.reason) for r in p.records] == [
        (len(sizes) - 2, below, Expiry.COUNTER_OVERFLOW), (2, GSO_MAX_SIZE + 100, Expiry.SHUTDOWN)]


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 50), st.integers(1, 5),
       st.lists(st.tuples(st.one_of(st.integers(-1, 1), st.integers(-50, 100)),
                          st.integers(0, 60)), max_size=30))
def test_v9_template_refresh_on_its_boundaries(template_ms, template_packets, steps):
    """Datagrams that open just before, at and just after the template's time,
    one or several at a time (flushes of 0-60 flows), against its datagram count."""
    p = Twins(Config(export_version=9, template_ms=template_ms, template_packets=template_packets,
                     inactive_ms=10**6, scan_ms=10**6), start_ms=0)
    now = port = 0
    for delta, flows in steps:
        now = max(now, now + template_ms + delta)
        for _ in range(flows):
            port += 1
            p.ref.handle_packet(Packet(FlowKey(1, 2, port, 4, 17, 0, 1), 100, 0), now)
            p.fast.handle_packet(Packet(FlowKey(1, 2, port, 4, 17, 0, 1), 100, 0), now)
        p.both("flush", now, Expiry.FLUSH)


@pytest.mark.parametrize("packets,ms", [(7, 10**6), (10**6, 2500)], ids=["by-count", "by-time"])
def test_v9_datagrams_fill_and_refresh_the_same_way(packets, ms):
    """Thousands of flows: full v9 datagrams with and without the template, and
    the template again every 7 datagrams, or every 2.5 s (scans every 50 ms: a
    datagram opens exactly 2.5 s after the last template's)."""
    p = Twins(Config(export_version=9, template_packets=packets, template_ms=ms,
                     inactive_ms=100, scan_ms=50), start_ms=0)
    for i in range(6000):
        p.both("handle_packet", Packet(FlowKey(i, 2, 3, 4, 17, 0, 1), 100 + i % 1400, 0), i * 3)
    p.both("flush", 20_000, Expiry.SHUTDOWN)
    templates = [d.data[20:22] == b"\0\0" for d in p.sent]
    assert len(templates) > 200 and 5 < sum(templates) < len(templates) / 5


def test_eviction_at_every_cache_size():
    """Cache sizes 1..8 with 12 keys in turn: the least recently used goes."""
    for max_flows in range(1, 9):
        p = Twins(Config(max_flows=max_flows), start_ms=0, capacity=1)
        for i in range(100):
            key = FlowKey(i * 7 % 12, 2, 3, 4, 17, 0, 1)
            p.both("handle_packet", Packet(key, 100, 0), i)
        p.both("flush", 200, Expiry.SHUTDOWN)
        assert p.ref.stats.evictions > 0 and p.datagrams > 0
