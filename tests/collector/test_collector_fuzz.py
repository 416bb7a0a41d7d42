"""Whatever arrives, the collector never raises: every datagram is decoded or counted as malformed."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nfv5_build import datagram, record
from testbed.collector import Collector

VALID = [datagram(n, seq=i * 30, uptime=1000 + i) for i, n in enumerate((1, 2, 30))] + [
    datagram([record(proto=p, tcp_flags=0xFF, src_mask=40, packets=0, first=2**32 - 1, last=0)
              for p in (1, 6, 17, 250)])]


def accounted(c: Collector, fed: int) -> None:
    s = c.summary()
    assert s.datagrams + s.malformed_total == fed
    assert "collector-bug" not in s.malformed
    assert len(c.records) == s.records == sum(d.header.count for d in c.datagrams)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=1600), max_size=5))
def test_random_bytes(blobs):
    c = Collector()
    for b in blobs:
        c.receive(b, ("10.0.9.1", 1), 0)
    accounted(c, len(blobs))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(VALID), st.data())
def test_truncated_valid_datagrams_are_malformed(data, draw):
    cut = draw.draw(st.integers(0, len(data) - 1))
    c = Collector()
    got = c.receive(data[:cut], "10.0.9.1", 0)
    assert got.malformed is not None and got.malformed.reason in ("too-short", "length-mismatch")
    accounted(c, 1)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(VALID), st.lists(st.integers(0, 8 * 1464 - 1), max_size=8),
                          st.binary(max_size=60)), max_size=6))
def test_bit_flipped_and_extended_valid_datagrams(items):
    c = Collector()
    for data, flips, tail in items:
        buf = bytearray(data)
        for bit in flips:
            if bit // 8 < len(buf):
                buf[bit // 8] ^= 1 << (bit % 8)
        got = c.receive(bytes(buf) + tail, "10.0.9.1", 0)
        if got.datagram is not None:
            assert len(buf) + len(tail) == 24 + 48 * got.datagram.header.count
    accounted(c, len(items))
