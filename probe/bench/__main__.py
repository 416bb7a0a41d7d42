"""`python -m probe.bench`: the fast engine, the reference engine, softflowd
(and NFStream where installed) on one generated capture, in one run.

Generates (or reuses, from --cache-dir) the deterministic capture, then times:
each engine in-process, the real CLI end to end into a local UDP sink (fast
paced as by default and unpaced, reference unpaced), `softflowd -r` on the
same file into the same sink, and the fast CLI against softflowd in paired
runs (farm-bench --vs, where installed). Then memory per cached flow (the
cache's own structures at --memory-flows flows; whole processes from N/10 to
N flows), each against its target,
the live probe's start-to-ready, the live routed benchmark (probe.bench.routed:
the kernel's forwarding limit, each engine at rising rates, then paired rounds
of the bare router against each engine, the capture ring alone and softflowd)
and the reference engine's hot spots.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from ..constants import EXPORT_RATE, PACE_BURST
from . import gen, hotspots, memory, routed, runs
from .sink import UdpSink

RSS_TARGET = 100  # B a flow, the whole fast CLI process at --memory-flows flows
SPEEDUP_TARGET = 10  # end to end against softflowd -r, paired runs


def _memory(how: str, flows: int) -> dict:
    out = subprocess.run([sys.executable, "-m", "probe.bench.memory", how, "--flows", str(flows)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m probe.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--packets", type=int, default=5_000_000)
    p.add_argument("--flows", type=int, default=500_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--cache-dir", default="/tmp")
    p.add_argument("--repeat", type=int, default=3,
                   help="median of N for each timed run (the reference engine: once)")
    p.add_argument("--memory-flows", type=int, default=1_000_000)
    p.add_argument("--paired-runs", type=int, default=5,
                   help="pairs of the fast CLI and softflowd under farm-bench --vs")
    p.add_argument("--top", type=int, default=15, help="hot spots to list (0: none)")
    p.add_argument("--hotspot-packets", type=int, default=300_000)
    p.add_argument("--live-seconds", type=float, default=3.0,
                   help="per step of the live routed benchmark (0: skip it)")
    args = p.parse_args(argv)

    t = time.perf_counter()
    path, truth = gen.cached(args.packets, args.flows, args.seed, args.cache_dir)
    print(f"capture: {path}: {truth.packets:,} packets, {len(truth.flows):,} flows, "
          f"{(truth.last_us - truth.first_us) / 1e6:.0f} s of traffic "
          f"(ready in {time.perf_counter() - t:.1f} s)")
    with open("/proc/loadavg") as f:
        print(f"load average at start: {' '.join(f.read().split()[:3])}\n")
    n, rep = truth.packets, max(1, args.repeat)

    def med(fn, *a, times=rep):
        return runs.median([fn(*a) for _ in range(times)])

    results = {"fast-inproc": med(runs.offline_inprocess, path, "fast"),
               "ref-inproc": runs.offline_inprocess(path, "reference")}
    have_softflowd = shutil.which("softflowd") is not None
    mf = args.memory_flows
    rss: dict[str, float] = {}
    vs: dict[str, runs.Paired | None] = {}
    with UdpSink() as sink, tempfile.TemporaryDirectory() as d:
        results["fast-paced"] = med(runs.cli, path, sink, n)
        results["fast"] = med(runs.cli, path, sink, n, "--export-rate", "0")
        results["fast-v9"] = med(runs.cli, path, sink, n, "--export-rate", "0", "--export", "v9")
        results["ref"] = runs.cli(path, sink, n, "--export-rate", "0", "--engine", "reference")
        if have_softflowd:
            results["softflowd"] = med(runs.softflowd, path, sink, n)
        if runs.have_nfstream():
            results["nfstream"] = runs.nfstream(path, n)
        small, full = memory.captures(mf, d)
        big = str(2 * mf)
        for name, engine in (("fast CLI", "fast"), ("reference CLI", "reference")):
            rss[name] = memory.rss_per_flow(
                lambda f, k: runs.cli(f, sink, k, "--export-rate", "0", "--max-flows", big,
                                      "--engine", engine), mf, small, full)
        if have_softflowd:
            rss["softflowd"] = memory.rss_per_flow(
                lambda f, k: runs.softflowd(f, sink, k, max_flows=2 * mf), mf, small, full)
            vs = {label: runs.paired(runs.cli_argv(path, sink.port, *extra),
                                     runs.softflowd_argv(path, sink.port, f"{d}/sf.pid"),
                                     args.paired_runs)
                  for label, extra in (("unpaced (--export-rate 0)", ("--export-rate", "0")),
                                       (f"paced ({EXPORT_RATE}/s, burst {PACE_BURST})", ()))}

    print(f"{'run':46} {'packets/s':>11} {'seconds':>8} {'peak RSS':>9} {'records':>9} "
          f"{'packets':>10}")
    for r in results.values():
        peak = f"{r.peak_rss_kb / 1024:.0f} MiB" if r.peak_rss_kb else "-"
        recs = f"{r.records:,}" if r.records >= 0 else "-"
        pkts = f"{r.exported_packets:,}" if r.exported_packets >= 0 else "-"
        print(f"{r.name:46} {r.pps:>11,.0f} {r.seconds:>8.2f} {peak:>9} {recs:>9} {pkts:>10}")
    print(f"(expected: {len(truth.flows):,} flows, {n:,} packets; times are medians of {rep}, "
          f"the reference engine's of 1)\n")
    if have_softflowd:
        sf = results["softflowd"].pps
        print(f"ratio to softflowd, end to end: fast CLI unpaced {results['fast'].pps / sf:.2f}, "
              f"fast CLI paced {results['fast-paced'].pps / sf:.2f}, "
              f"reference CLI unpaced {results['ref'].pps / sf:.2f} "
              f"(fast in-process {results['fast-inproc'].pps / sf:.2f})")
    else:
        print("softflowd not installed: no comparison")
    print(f"NetFlow v9 export, fast CLI unpaced: {results['fast-v9'].seconds:.2f} s against v5's "
          f"{results['fast'].seconds:.2f} s (v9/v5 time {results['fast-v9'].seconds / results['fast'].seconds:.2f})")
    if "nfstream" not in results:
        print("NFStream not installed: not measured")

    fast_mem, ref_mem = _memory("fast", mf), _memory("tracemalloc", mf)
    print(f"\nmemory per cached flow at {mf:,} flows: fast engine table "
          f"{fast_mem['table_bytes_per_flow']:.0f} B (allocated), "
          f"{fast_mem['bytes_per_flow']:.0f} B (RSS delta); reference engine "
          f"{ref_mem['bytes_per_flow']:.0f} B (tracemalloc)")
    print(f"whole-process peak RSS per flow, ({mf:,} flows - {mf // 10:,}) / {mf - mf // 10:,}: "
          + ", ".join(f"{name} {b:.0f} B" for name, b in rss.items())
          + f" (target: fast CLI <= {RSS_TARGET} B: "
          + ("met)" if rss["fast CLI"] <= RSS_TARGET else "NOT met)"))
    for label, pair in vs.items():
        if pair is None:
            print("farm-bench not installed: no paired end-to-end ratio")
            break
        print(f"end to end vs softflowd, paired (farm-bench --vs, {args.paired_runs} pairs, "
              f"medians): fast CLI {label} {pair.a_seconds:.2f} s, softflowd "
              f"{pair.b_seconds:.2f} s: {1 / pair.ratio:.1f}x (target >= {SPEEDUP_TARGET}x: "
              + ("met)" if 1 / pair.ratio >= SPEEDUP_TARGET else "NOT met)"))

    ready = runs.start_to_ready()
    if ready:
        print(f"\nlive probe start-to-ready (control socket answers), {len(ready)} starts: "
              f"median {statistics.median(ready):.3f} s, max {max(ready):.3f} s")
    else:
        print("\nlive probe start-to-ready: needs root and iproute2, not measured")

    if args.live_seconds:
        print("\nlive, routed (h1 -> r1 -> h2, probe on r1's two interfaces):")
        routed.main(["--seconds", str(args.live_seconds)])

    if args.top:
        frames = runs.load_frames(path, args.hotspot_packets)
        print(f"\nreference engine hot spots (cProfile, first {len(frames):,} packets; "
              f"profiling slows it down):")
        print(hotspots.table(hotspots.hot_spots(frames, args.top), len(frames)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
