"""Every expiry rule of the flow cache, on the fake clock (ms), on both engines."""
from helpers import ACK, FIN, RST, SYN, key, make_probe, pkt, records

from probe.constants import Expiry

T0 = 1_000_000


def test_lone_syn_keeps_its_flag_and_waits_for_inactive_timeout(engine):
    p = make_probe(engine, T0)
    p.handle_packet(pkt(flags=SYN), T0)
    p.handle_timer(T0 + 15_000)  # exactly the timeout: strict >, not yet
    assert records(p) == []
    p.handle_timer(T0 + 16_000)
    (r,) = records(p)
    assert r.tcp_flags == SYN and r.reason is Expiry.INACTIVE and r.packets == 1


def test_fin_on_first_packet_expires_at_once(engine):
    p = make_probe(engine, T0)
    p.handle_packet(pkt(flags=FIN | ACK), T0)
    assert p.stats.exported[Expiry.TCP_FIN_RST] == 1
    p.handle_timer(T0 + 1000)  # the partial datagram goes out at the next scan
    (r,) = records(p)
    assert r.tcp_flags == FIN | ACK


def test_fin_after_accounting_the_packet(engine):
    p = make_probe(engine, T0)
    p.handle_packet(pkt(flags=SYN, octets=60), T0)
    p.handle_packet(pkt(flags=ACK, octets=1500), T0 + 10)
    p.handle_packet(pkt(flags=RST, octets=40), T0 + 20)
    p.handle_timer(T0 + 1000)
    (r,) = records(p)
    assert (r.packets, r.octets, r.tcp_flags) == (3, 1600, SYN | ACK | RST)
    assert r.reason is Expiry.TCP_FIN_RST
    assert (r.first, r.last) == (0, 20)


def test_inactive_boundary_is_strict(engine):
    p = make_probe(engine, T0, inactive_ms=2000, scan_ms=100)
    p.handle_packet(pkt(), T0 + 50)
    p.handle_timer(T0 + 2000)  # scans at ..., 2000: 2000-50 = 1950
    assert records(p) == []
    p.handle_timer(T0 + 2050)  # no scan at 2050; the scan at 2100 is not due
    assert records(p) == []
    p.handle_timer(T0 + 2100)  # 2100-50 = 2050 > 2000
    (r,) = records(p)
    assert r.reason is Expiry.INACTIVE


def test_active_timeout_on_packet_and_on_scan(engine):
    p = make_probe(engine, T0, active_ms=5000, inactive_ms=60_000)
    a, b = key(sport=1), key(sport=2)
    for t in range(0, 5001, 500):
        p.handle_packet(pkt(a), T0 + t)
    assert p.stats.exported[Expiry.ACTIVE] == 0  # 5000 - 0 is not > 5000
    p.handle_packet(pkt(a), T0 + 5001)  # checked on the packet
    assert p.stats.exported[Expiry.ACTIVE] == 1
    p.handle_packet(pkt(b), T0 + 5002)
    p.handle_packet(pkt(b), T0 + 9000)
    p.handle_timer(T0 + 11_000)  # the scan at 11000 sees 11000-5002 > 5000
    assert p.stats.exported[Expiry.ACTIVE] == 2
    recs = records(p)
    assert [(r.sport, r.packets) for r in recs] == [(1, 12), (2, 2)]


def test_active_split_keeps_totals(engine):
    p = make_probe(engine, T0, active_ms=1000, inactive_ms=60_000)
    for t in range(0, 10_000, 100):
        p.handle_packet(pkt(octets=200), T0 + t)
    p.flush(T0 + 10_000)
    recs = records(p)
    assert len(recs) > 5
    assert sum(r.packets for r in recs) == 100
    assert sum(r.octets for r in recs) == 20_000


def test_counter_overflow_splits_with_exact_totals(engine):
    p = make_probe(engine, T0, inactive_ms=10**9, active_ms=10**9)
    n = 2 * (2**32 // 65535) + 7
    for i in range(n):
        p.handle_packet(pkt(octets=65535, proto=17, sport=9, dport=9), T0 + i)
    p.flush(T0 + n)
    recs = records(p)
    assert p.stats.exported[Expiry.COUNTER_OVERFLOW] == 2
    assert all(r.octets <= 0xFFFFFFFF for r in recs)
    assert sum(r.octets for r in recs) == n * 65535
    assert sum(r.packets for r in recs) == n


def test_lru_eviction_order_and_no_packet_lost(engine):
    p = make_probe(engine, T0, max_flows=3, inactive_ms=60_000)
    for port in (1, 2, 3):
        p.handle_packet(pkt(sport=port), T0 + port)
    p.handle_packet(pkt(sport=1), T0 + 10)  # 1 becomes most recent; LRU is now 2
    p.handle_packet(pkt(sport=4), T0 + 11)
    p.handle_packet(pkt(sport=5), T0 + 12)
    assert p.stats.evictions == 2 and p.stats.exported[Expiry.EVICTED] == 2
    p.flush(T0 + 20)
    recs = records(p)
    assert [r.sport for r in recs[:2]] == [2, 3]
    assert sum(r.packets for r in recs) == 6 == p.stats.packets


def test_flush_exports_everything(engine):
    p = make_probe(engine, T0)
    for port in range(100):
        p.handle_packet(pkt(sport=port), T0)
    p.flush(T0 + 5, Expiry.SHUTDOWN)
    recs = records(p)
    assert len(recs) == 100 and p.stats.exported[Expiry.SHUTDOWN] == 100
    assert len(p.flows()) == 0


def test_scan_does_not_walk_active_flows(monkeypatch):
    """The reference engine only: it counts Python reads of a flow's `last`. The
    compiled scan walks the same list from its head (test_differential holds the
    two to the same LRU order after every step)."""
    import probe.cache as cache_mod
    from probe.flow import Flow

    reads = [0]

    class Counted(Flow):
        __slots__ = ()

        @property
        def last(self):
            reads[0] += 1
            return Flow.last.__get__(self)

        @last.setter
        def last(self, v):
            Flow.last.__set__(self, v)

    monkeypatch.setattr(cache_mod, "Flow", Counted)
    p = make_probe("reference", T0, inactive_ms=15_000)
    p.handle_packet(pkt(sport=0, dport=0, proto=17), T0)  # will go idle
    for i in range(100_000):
        p.handle_packet(pkt(sport=i % 60000, dport=1 + i // 60000, proto=17), T0 + 10_000)
    reads[0] = 0
    p.handle_timer(T0 + 16_000)
    assert p.stats.exported[Expiry.INACTIVE] == 1
    assert reads[0] < 10, f"scan looked at {reads[0]} flows"


def test_scan_runs_as_packet_time_passes(engine):
    p = make_probe(engine, T0, inactive_ms=2000)
    p.handle_packet(pkt(sport=1), T0)
    p.handle_packet(pkt(sport=2), T0 + 10_000)  # runs the scans at 1000..10000
    (r,) = records(p)
    assert r.sport == 1
    assert p.stats.exported[Expiry.INACTIVE] == 1


def test_time_going_backwards_is_clamped(engine):
    p = make_probe(engine, T0)
    p.handle_packet(pkt(), T0 + 500)
    p.handle_packet(pkt(), T0 + 100)  # e.g. a pcapng merged from two interfaces
    p.flush(T0 + 600)
    (r,) = records(p)
    assert r.first == r.last == 500
