"""`python -m probe.bench`: the probe against softflowd on one generated capture.

Generates (or reuses, from --cache-dir) the deterministic capture, then times:
the engine in-process, offline mode in-process, the real CLI end to end into a
local UDP sink, and `softflowd -r` on the same file into the same sink. Then
memory per cached flow (probe and softflowd) and the engine's hot spots.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time

from . import gen, hotspots, memory, runs
from .sink import UdpSink


def _memory(how: str, flows: int) -> float:
    out = subprocess.run([sys.executable, "-m", "probe.bench.memory", how, "--flows", str(flows)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["bytes_per_flow"]


def _best(runs_: list[runs.Result]) -> runs.Result:
    return min(runs_, key=lambda r: r.seconds)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m probe.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--packets", type=int, default=1_000_000)
    p.add_argument("--flows", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--cache-dir", default="/tmp")
    p.add_argument("--repeat", type=int, default=1, help="best of N for each timed run")
    p.add_argument("--memory-flows", type=int, default=100_000)
    p.add_argument("--top", type=int, default=15, help="hot spots to list")
    args = p.parse_args(argv)

    t = time.perf_counter()
    path, truth = gen.cached(args.packets, args.flows, args.seed, args.cache_dir)
    print(f"capture: {path}: {truth.packets:,} packets, {len(truth.flows):,} flows, "
          f"{(truth.last_us - truth.first_us) / 1e6:.0f} s of traffic "
          f"(ready in {time.perf_counter() - t:.1f} s)\n")
    n = truth.packets
    frames = runs.load_frames(path)
    results = [_best([runs.engine(frames) for _ in range(args.repeat)]),
               _best([runs.offline_inprocess(path) for _ in range(args.repeat)])]
    have_softflowd = shutil.which("softflowd") is not None
    with UdpSink() as sink, tempfile.TemporaryDirectory() as d:
        results.append(_best([runs.cli(path, sink, n) for _ in range(args.repeat)]))
        results.append(_best([runs.cli(path, sink, n, "--export-rate", "0")
                              for _ in range(args.repeat)]))
        if have_softflowd:
            results.append(_best([runs.softflowd(path, sink, n) for _ in range(args.repeat)]))
        mf = args.memory_flows
        peak = {"probe CLI": memory.peak_rss_per_flow(runs.cli, mf, sink, d)}
        if have_softflowd:
            peak["softflowd"] = memory.peak_rss_per_flow(runs.softflowd, mf, sink, d)

    print(f"{'run':42} {'packets/s':>11} {'seconds':>8} {'peak RSS':>9} {'records':>9}")
    for r in results:
        rss = f"{r.peak_rss_kb / 1024:.0f} MiB" if r.peak_rss_kb else "-"
        recs = f"{r.records:,}" if r.records >= 0 else "-"
        print(f"{r.name:42} {r.pps:>11,.0f} {r.seconds:>8.2f} {rss:>9} {recs:>9}")
    print(f"(expected records: {len(truth.flows):,})\n")
    if have_softflowd:
        sf = results[-1]
        print(f"ratio probe/softflowd, end to end: {results[2].pps / sf.pps:.3f} "
              f"(unpaced CLI {results[3].pps / sf.pps:.3f}, engine alone "
              f"{results[0].pps / sf.pps:.3f})")
    else:
        print("softflowd not installed: no comparison")
    print(f"\nmemory per cached flow: probe engine {_memory('tracemalloc', mf):.0f} B "
          f"(tracemalloc), {_memory('rss', mf):.0f} B (RSS delta), {mf:,} flows")
    print(f"peak RSS per flow, {2 * mf:,} flows minus {mf:,}: "
          + ", ".join(f"{name} {b:.0f} B" for name, b in peak.items()))
    print(f"\nengine hot spots (cProfile, {n:,} packets; profiling slows it down):")
    print(hotspots.table(hotspots.hot_spots(frames, args.top), n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
