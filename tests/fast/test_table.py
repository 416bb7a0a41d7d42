"""The fast engine's flow table on its own: the open-addressing hash finds
every live flow and none that left, under forced collisions, wrap-around
runs, backward-shift deletion and growth; memory stays within 128 B a flow."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from probe.fast._engine import Engine

FIN = 0x01
NARROW = [  # hash narrowed: every key collides; runs wrap past the table's end
    {}, {"hash_mask": 0}, {"hash_mask": 1}, {"hash_mask": 7, "hash_or": 0xFFFFFFF8}]


def engine(**kw) -> Engine:
    return Engine(start_ms=0, inactive_ms=10**9, active_ms=10**9, scan_ms=10**9, **kw)


def add(e: Engine, k: int, flags: int = 0) -> None:
    e.handle_packet(k, 1, k & 0xFFFF, 80, 6, 0, 1, 40, flags, False, 0)


def live(e: Engine) -> list[int]:
    return [row[0] for row in e.flow_rows()]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.booleans()), max_size=300),
       st.sampled_from(NARROW), st.sampled_from([1, 2, 3, 64]))
def test_hash_agrees_with_a_dict(ops, narrow, capacity):
    """Insert (a packet) and delete (a FIN) keys at random: the table holds
    exactly the model's keys, in last-use order, and each is found."""
    e = engine(capacity=capacity, **narrow)
    model: dict[int, None] = {}
    for k, fin in ops:
        add(e, k, FIN if fin else 0)
        model.pop(k, None)
        if not fin:
            model[k] = None
        assert live(e) == list(model)
        e.check()


def test_full_collisions_then_delete_everything():
    e = engine(capacity=1, hash_mask=0)
    for k in range(500):
        add(e, k)
    e.check()
    for k in range(0, 500, 2):  # deletions from the middle of one long run
        add(e, k, FIN)
    e.check()
    assert live(e) == list(range(1, 500, 2))
    for k in range(1, 500, 2):
        add(e, k, FIN)
    assert live(e) == [] and len(e) == 0
    e.check()


def test_grows_to_max_flows_and_stops():
    e = engine(capacity=1, max_flows=1000)
    for k in range(5000):
        add(e, k)
    assert len(e) == 1000 and e.evictions == 4000
    assert live(e) == list(range(4000, 5000))
    e.check()
    bytes_at_1000 = e.table_bytes()
    for k in range(5000, 9000):  # freed entries are reused: no more growth
        add(e, k)
    assert e.table_bytes() == bytes_at_1000


def test_at_most_128_bytes_a_flow():
    e = engine(max_flows=1 << 20)
    for k in range(1_000_000):
        add(e, k)
    assert len(e) == 1_000_000
    assert e.table_bytes() / len(e) <= 128


def test_flows_view_counts_without_snapshots():
    from probe.engine import Config
    from probe.fast.engine import FastProbe
    p = FastProbe(Config(), start_ms=0)
    for k in range(5):
        p.engine.handle_packet(k, 1, 2, 3, 17, 0, 1, 40, 0, False, k)
    flows = p.flows()
    assert len(flows) == 5
    assert [f.key.src for f in flows[:2]] == [0, 1] and [f.key.src for f in flows] == list(range(5))
    assert flows[-1].key.src == 4 and flows[1:3][0].last == 1
