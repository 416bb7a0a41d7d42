"""The fast and reference offline drivers on capture files: the shipped
sample, generated captures in every format the tests write, with timeouts
and cache sizes that make them expire, evict and scan, random classic pcaps
of every link type (FCS bits in the link-type field, VLAN tags in SLL, SLL2
interface indexes, outgoing copies, original lengths past the capture: BIG
TCP) under every `--ifindex` form, and damaged files (cut anywhere, an
implausible record length): the same datagrams, the same statistics, the same
error, the same `--ifindex NAME=N` left unused."""
from __future__ import annotations

import io
import resource
import struct
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from probe.bench import gen
from probe.engine import Config, Probe
from probe.fast.engine import FastProbe
from probe.fast.offline import run_file as fast_run
from probe.input_ifindex import InputIfindex
from probe.offline import run_file as ref_run
from probe.pcapfile import PcapError
from probe.routes import Route, RouteTable

sys.path.insert(0, str(Path(__file__).parent.parent / "offline"))
from capture_formats import pcap_bytes, read_classic, write_pcap, write_pcapng  # noqa: E402
from wire import frames  # noqa: E402

SAMPLES = Path(__file__).parent.parent.parent / "samples"
CONFIGS = {
    "defaults": Config(),
    "short-timeouts": Config(inactive_ms=2000, active_ms=7000, scan_ms=700),
    "tiny-cache": Config(max_flows=7, scan_ms=3000, engine_type=3, engine_id=4),
    "host-both-directions": Config(inactive_ms=2000, outgoing=True),
}


def _run(runner, make, data: bytes, ifindex: InputIfindex):
    out = []
    try:
        probe = runner(io.BytesIO(data), make, out.append, ifindex)
        error = None
    except PcapError as exc:
        probe, error = None, str(exc)
    return out, error


def same(data: bytes, config: Config, routes=None, fixed: int | None = None,
         names: dict[str, int] | None = None) -> int:
    """Both drivers over `data` (`fixed`, `names`: the input ifindex options);
    returns the datagram count."""
    ref_stats, fast_stats = [], []

    def make_ref(start):
        p = Probe(config, routes, start)
        ref_stats.append(p.stats)
        return p

    def make_fast(start):
        p = FastProbe(config, routes, start)
        fast_stats.append(p)
        return p

    ref_ifindex, fast_ifindex = InputIfindex(fixed, names), InputIfindex(fixed, names)
    want, want_err = _run(ref_run, make_ref, data, ref_ifindex)
    got, got_err = _run(fast_run, make_fast, data, fast_ifindex)
    assert got_err == want_err
    assert fast_ifindex.unused() == ref_ifindex.unused()
    assert [d.data for d in got] == [d.data for d in want]
    assert [d.records for d in got] == [d.records for d in want]
    assert fast_stats[0].stats.as_dict() == ref_stats[0].as_dict()
    return len(want)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    d = tmp_path_factory.mktemp("fastcap")
    path = d / "gen.pcap"
    gen.write(str(path), packets=4000, flows=500, seed=5, duration_s=60)
    return d, path.read_bytes(), read_classic(str(path))


FORMATS = {  # name: (writer, its options)
    "pcap-us": (write_pcap, {}),
    "pcap-ns": (write_pcap, {"nanos": True}),
    "pcap-big-endian": (write_pcap, {"endian": ">"}),
    "raw": (write_pcap, {"linktype": 101}),
    "linux-sll": (write_pcap, {"linktype": 113}),
    "linux-sll2": (write_pcap, {"linktype": 276, "nanos": True}),
    "pcapng-us": (write_pcapng, {"tsresol": 6}),
    "pcapng-ms": (write_pcapng, {"tsresol": 3}),
    "pcapng-raw-ns": (write_pcapng, {"linktype": 101, "tsresol": 9}),
}


@pytest.mark.parametrize("config", CONFIGS)
def test_sample_captures(config):
    routes = RouteTable()
    routes.add(0x0A000000, 8, Route(2, 0x0A000001, 8))
    for path in sorted(SAMPLES.glob("*.pcap*")):
        assert same(path.read_bytes(), CONFIGS[config], routes, fixed=5) > 0


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format(generated, fmt, config):
    d, _, packets = generated
    path = d / f"{fmt}.cap"
    writer, options = FORMATS[fmt]
    writer(str(path), packets, **options)
    assert same(path.read_bytes(), CONFIGS[config]) > 0


def test_damaged_files(generated):
    d, data, packets = generated
    write_pcapng(str(d / "ng.cap"), packets[:50])
    ng = (d / "ng.cap").read_bytes()
    config = CONFIGS["short-timeouts"]
    for blob in (data[:20000], ng):
        for cut in [0, 1, 3, 4, 5, 23, 24, 25, 39, 40, 41] + list(range(100, len(blob), 997)):
            same(blob[:cut], config)
    bad = bytearray(data)
    struct.pack_into("<I", bad, 24 + 8, 10_000_000)  # the first record's caplen
    same(bytes(bad), config)
    same(b"not a capture at all", config)


def test_big_chunks_and_records_across_them(generated, monkeypatch):
    """Records cut by the chunk boundary, and records longer than a chunk."""
    import probe.fast.offline as fo
    d, _, packets = generated
    big = [(t, f + bytes(3000)) for t, f in packets[:300]]  # longer than the chunk below
    write_pcap(str(d / "big.cap"), big)
    monkeypatch.setattr(fo, "CHUNK", 1000)
    assert same((d / "big.cap").read_bytes(), CONFIGS["short-timeouts"]) > 0
    monkeypatch.setattr(fo, "CHUNK", 777)
    assert same(d.joinpath("gen.pcap").read_bytes(), CONFIGS["tiny-cache"]) > 0


# a header's snaplen: none, tiny, usual, the file limit's 32-bit edge (the
# reader's margin added), the largest
SNAPLENS = [0, 1, 65535, 262144, 0xFFFEFFFF, 0xFFFF0000, 0xFFFF0001, 0x80000000, 0xFFFFFFFF]


@pytest.mark.parametrize("snaplen", SNAPLENS)
def test_any_snaplen(generated, snaplen):
    """The header's snaplen only bounds a plausible record: any value reads,
    and a record longer than the file is damage (not 4 GiB of zeros)."""
    _, _, packets = generated
    records = [(t, f, len(f)) for t, f in packets[:200]]
    for endian in "<>":
        blob = pcap_bytes(records, snaplen=snaplen, endian=endian)
        assert same(blob, CONFIGS["short-timeouts"]) > 0
        cut = bytearray(pcap_bytes(records[:3], snaplen=snaplen, endian=endian))
        last = len(pcap_bytes(records[:2])) + 8  # the last record's caplen: 1 GiB
        struct.pack_into(endian + "I", cut, last, 1 << 30)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
        same(bytes(cut), CONFIGS["short-timeouts"])
        assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 256 << 10


IFINDEX_OPTIONS = [(None, None), (None, None), (7, None), (None, {"eth0": 5})]  # (fixed, names)


@st.composite
def pcap_files(draw):
    linktype = draw(st.sampled_from([1, 101, 113, 276]))
    records, ts = [], draw(st.integers(0, 2 ** 40)) * 1000
    for _ in range(draw(st.integers(0, 30))):
        data, _, wire = draw(frames(linktype=linktype if draw(st.integers(0, 5)) else None))
        ts += draw(st.integers(0, 3 * 10 ** 9))
        records.append((ts, data, wire or len(data)))
    upper = draw(st.sampled_from([0, 0, 0x24000000, 0x10000000, 0xFFFF0000]))  # FCS bits
    blob = pcap_bytes(records, linktype | upper, draw(st.booleans()), draw(st.sampled_from("<>")),
                      draw(st.sampled_from(SNAPLENS)))
    if draw(st.integers(0, 4)) == 0:
        blob = blob[:draw(st.integers(0, len(blob)))]
    return blob


@settings(max_examples=200, deadline=None)
@given(pcap_files(), st.sampled_from(sorted(CONFIGS)), st.sampled_from(IFINDEX_OPTIONS))
def test_random_pcaps_read_as_the_reference(blob, config, ifindex):
    same(blob, CONFIGS[config], fixed=ifindex[0], names=ifindex[1])
