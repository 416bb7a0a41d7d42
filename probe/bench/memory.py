"""Memory per cached flow: a probe holding N flows, measured two ways.

    python -m probe.bench.memory --flows 100000 {tracemalloc|rss}

Each way runs in its own fresh process (prints one JSON line): tracemalloc
counts the bytes Python allocated for the cache; the RSS delta adds the
allocator's slack. The frames are built before measuring and are not kept by
the probe, so only the flows (key, Flow, the cache's two ordered dicts) count.
`peak_rss_per_flow` compares whole processes instead (the probe CLI, softflowd).
"""
from __future__ import annotations

import argparse
import gc
import json
import struct
import sys
import tracemalloc

from ..engine import Config, Probe

_FRAME = struct.Struct("!12sHBBHHHBBHIIHHHH")  # Ethernet, IPv4, UDP


def distinct_frames(n: int) -> list[bytes]:
    """`n` UDP frames, each of its own flow (src and source port vary)."""
    macs = bytes.fromhex("020000000001020000000002")
    return [_FRAME.pack(macs, 0x0800, 0x45, 0, 100, 0, 0, 64, 17, 0,
                        0x0A000000 + (i >> 8), 0xAC100001, 1024 + (i & 0xFF), 53, 80, 0)
            for i in range(n)]


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def measure(flows: int, how: str) -> float:
    frames = distinct_frames(flows)
    gc.collect()
    if how == "tracemalloc":
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
    else:
        before = _rss()
    probe = Probe(Config(max_flows=2 * flows), start_ms=0)
    for data in frames:
        probe.handle_frame(data, 1, 0, 0)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0] if how == "tracemalloc" else _rss()
    assert len(probe.cache) == flows
    return (after - before) / flows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m probe.bench.memory")
    p.add_argument("how", choices=("tracemalloc", "rss"))
    p.add_argument("--flows", type=int, default=100_000)
    args = p.parse_args(argv)
    print(json.dumps({"how": args.how, "flows": args.flows,
                      "bytes_per_flow": round(measure(args.flows, args.how), 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())


def write_pcap(path: str, frames: list[bytes]) -> None:
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, data in enumerate(frames):
            f.write(struct.pack("<IIII", 1_700_000_000, i % 1_000_000, len(data), len(data)))
            f.write(data)


def peak_rss_per_flow(run, flows: int, sink, directory: str) -> float:
    """Bytes per flow from the peak RSS of a whole process: `run(path, sink,
    packets)` over 2N distinct flows minus over N, divided by N (the baseline
    cancels). Both the probe CLI and softflowd -r hold every flow until EOF here."""
    frames = distinct_frames(2 * flows)
    half, full = f"{directory}/flows-{flows}.pcap", f"{directory}/flows-{2 * flows}.pcap"
    write_pcap(half, frames[:flows])
    write_pcap(full, frames)
    return (run(full, sink, 2 * flows).peak_rss_kb - run(half, sink, flows).peak_rss_kb) \
        * 1024 / flows
