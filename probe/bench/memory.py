"""Memory per cached flow: a probe holding N flows, measured three ways.

    python -m probe.bench.memory --flows 1000000 {tracemalloc|rss|fast}

Each way runs in its own fresh process (prints one JSON line): tracemalloc
counts the bytes Python allocated for the reference engine's cache; `rss`
adds the allocator's slack; `fast` is the fast engine's table (the bytes it
allocated, and the RSS delta). The frames are built before measuring and are
not kept by the probe, so only the flows count. `rss_per_flow` compares whole
processes instead (the probe CLI, softflowd): (RSS at N flows - RSS at N/10
flows) / (N - N/10), so the baseline cancels.
"""
from __future__ import annotations

import argparse
import gc
import json
import struct
import sys
import tracemalloc

from ..engine_api import Config
from ..fast.choose import probe_class

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


def measure(flows: int, how: str) -> dict:
    frames = distinct_frames(flows)
    gc.collect()
    if how == "tracemalloc":
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
    else:
        before = _rss()
    config = Config(max_flows=2 * flows)
    probe = probe_class("fast" if how == "fast" else "reference", config)(config, start_ms=0)
    for data in frames:
        probe.handle_frame(data, 1, 0, 0)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0] if how == "tracemalloc" else _rss()
    assert len(probe.flows()) == flows
    out = {"how": how, "flows": flows, "bytes_per_flow": round((after - before) / flows, 1)}
    if how == "fast":
        out["table_bytes_per_flow"] = round(probe.engine.table_bytes() / flows, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m probe.bench.memory")
    p.add_argument("how", choices=("tracemalloc", "rss", "fast"))
    p.add_argument("--flows", type=int, default=100_000)
    args = p.parse_args(argv)
    print(json.dumps(measure(args.flows, args.how)))
    return 0


if __name__ == "__main__":
    sys.exit(main())


def write_pcap(path: str, frames: list[bytes]) -> None:
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, data in enumerate(frames):
            f.write(struct.pack("<IIII", 1_700_000_000, i % 1_000_000, len(data), len(data)))
            f.write(data)


def captures(flows: int, directory: str) -> tuple[str, str]:
    """Two captures of distinct flows: N/10 and N (all within one second)."""
    frames = distinct_frames(flows)
    small, full = f"{directory}/flows-{flows // 10}.pcap", f"{directory}/flows-{flows}.pcap"
    write_pcap(small, frames[:flows // 10])
    write_pcap(full, frames)
    return small, full


def rss_per_flow(run, flows: int, small: str, full: str) -> float:
    """Bytes per flow of a whole process's peak RSS: `run(path, packets)` over
    N flows minus over N/10, divided by the difference. Both the probe CLI and
    softflowd -r hold every flow until EOF here."""
    tenth = flows // 10
    return (run(full, flows).peak_rss_kb - run(small, tenth).peak_rss_kb) * 1024 / (flows - tenth)
