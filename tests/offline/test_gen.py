"""The capture generator: deterministic, and its ground truth is what the file holds
(checked with an independent reader), with the shape the benchmark relies on."""
from __future__ import annotations

import io
import random
import struct
from collections import defaultdict

import pytest
from capture_formats import read_classic

from probe.bench import gen


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("gen") / "g.pcap")
    truth = gen.write(path, packets=20_000, flows=2_000, seed=3)
    return path, truth


def _parse(frame: bytes):
    tos, total, proto, src, dst = struct.unpack_from("!xBH5xB2xII", frame, 14)
    l4 = frame[34:]
    if proto == gen.ICMP:
        return gen.Key(src, dst, 0, l4[0] * 256 + l4[1], proto, tos), total, 0
    sport, dport = struct.unpack_from("!HH", l4)
    return gen.Key(src, dst, sport, dport, proto, tos), total, l4[13] if proto == gen.TCP else 0


def test_same_seed_same_bytes_other_seed_other_bytes():
    a, b, c = io.BytesIO(), io.BytesIO(), io.BytesIO()
    assert gen.generate(a, 3000, 300, seed=5) == gen.generate(b, 3000, 300, seed=5)
    gen.generate(c, 3000, 300, seed=6)
    assert a.getvalue() == b.getvalue() != c.getvalue()


def test_truth_is_what_the_file_holds(made):
    path, truth = made
    packets = read_classic(path)
    seen = defaultdict(list)
    for ts_ns, frame in packets:
        key, total, flags = _parse(frame)
        assert 40 <= total <= 1500 and len(frame) == min(14 + total, gen.SNAPLEN)
        seen[key].append((ts_ns // 1000, total, flags))
    assert (len(packets), len(seen)) == (truth.packets, len(truth.flows)) == (20_000, 2_000)
    assert sum(total for p in seen.values() for _, total, _ in p) == truth.octets
    for key, pkts in seen.items():
        c = truth.flows[key]
        flags = 0
        for _, _, f in pkts:
            flags |= f
        assert (len(pkts), sum(p[1] for p in pkts), flags, pkts[0][0], pkts[-1][0]) == c


def test_time_order_gaps_and_tcp_shape(made):
    path, truth = made
    stamps = [ts for ts, _ in read_classic(path)]
    assert stamps == sorted(stamps)
    assert 60 <= (stamps[-1] - stamps[0]) / 1e9 <= 150
    by_key = defaultdict(list)
    for ts_ns, frame in read_classic(path):
        key, _, flags = _parse(frame)
        by_key[key].append((ts_ns, flags))
    fins = 0
    for key, pkts in by_key.items():
        gaps = [b[0] - a[0] for a, b in zip(pkts, pkts[1:])]
        assert max(gaps, default=0) <= gen.MAX_GAP_US * 1000
        if key.proto == gen.TCP:
            assert pkts[0][1] == gen.SYN
            ends = [i for i, (_, f) in enumerate(pkts) if f & (gen.FIN | gen.RST)]
            assert ends in ([], [len(pkts) - 1])  # FIN/RST only on the last packet
            fins += bool(ends)
    assert fins > 0.3 * sum(k.proto == gen.TCP for k in by_key)


def test_mix_and_heavy_tail(made):
    _, truth = made
    sizes = sorted(c.packets for c in truth.flows.values())
    assert sum(s <= 3 for s in sizes) > 0.6 * len(sizes)  # most flows are tiny
    assert sizes[-1] >= 200 and sum(sizes[-20:]) > 0.3 * sum(sizes)  # a few carry the bulk
    protos = [k.proto for k in truth.flows]
    assert 0.65 < protos.count(gen.TCP) / len(protos) < 0.85
    assert protos.count(gen.ICMP) > 0 and protos.count(gen.UDP) > 0


@pytest.mark.parametrize("packets,flows", [(0, 0), (5, 0), (1, 10), (10, 10), (1000, 1)])
def test_flow_sizes_sum_exactly(packets, flows):
    sizes = gen.flow_sizes(random.Random(1), packets, flows)
    assert sum(sizes) == (packets if sizes else 0)
    assert len(sizes) == min(packets, flows) and all(s >= 1 for s in sizes)


def test_truth_json_round_trip(made):
    _, truth = made
    assert gen.Truth.from_json(truth.to_json()) == truth


def test_cached_reuses_the_file(tmp_path):
    path, truth = gen.cached(500, 50, 9, str(tmp_path))
    mtime = (tmp_path / path).stat().st_mtime_ns
    assert gen.cached(500, 50, 9, str(tmp_path)) == (path, truth)
    assert (tmp_path / path).stat().st_mtime_ns == mtime
