"""Lab scale, measured: `python -m testbed.run.bench [--routers 50 200]`.

For each size, a generated line (`testbed gen line --routers N --probes all`)
is run end to end as a user runs it (`python -m testbed run FILE`, a fresh
process, wall time from start to exit) and its phase times are printed; then
the same lab is built again in-process to read what one idle probe costs:
its memory (RSS, and PSS: its share of the pages it shares with the other
probes forked from the same interpreter) and the kernel memory of its
capture ring. Figures only; nothing here passes or fails.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..topology import loads
from ..topology.gen import line
from .session import Session


def _rollup(pid: int) -> dict[str, int]:
    """kB figures of /proc/PID/smaps_rollup (Rss, Pss, Private_*)."""
    out = {}
    for row in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, value = row.partition(":")
        out[name] = int(value.split()[0])
    return out


def run_cli(path: Path) -> tuple[float, dict, str]:
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        done = subprocess.run([sys.executable, "-m", "testbed", "run", str(path), "--result-json", str(result)],
                              capture_output=True, text=True)
        wall = time.monotonic() - began
        data = json.loads(result.read_text()) if result.exists() else {}
    verdicts = data.get("verdicts", [])
    status = (f"{sum(v['passed'] for v in verdicts)}/{len(verdicts)} checks passed" if verdicts
              else "could not run: " + done.stderr.strip()[-200:])
    return wall, data.get("phases", {}), status


def idle_probe_memory(text: str) -> dict[str, float]:
    with Session(loads(text), say=lambda s: None) as s:
        time.sleep(1.0)  # idle: a few scans, no traffic
        rolls = [_rollup(x.current.procs[0].pid) for x in s.running.exporters.values()]
    return {k: statistics.median(r[k] for r in rolls) / 1024 for k in ("Rss", "Pss", "Private_Dirty")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m testbed.run.bench", description=__doc__.splitlines()[0])
    p.add_argument("--routers", type=int, nargs="+", default=[50, 200])
    p.add_argument("--runs", type=int, default=3, help="end-to-end runs per size (median shown)")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("labs need root", file=sys.stderr)
        return 2
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print(f"{'routers':>7} {'probes':>6} {'wall s':>7}  phases (median of {args.runs} runs)")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.routers:
            path = Path(tmp) / f"line-{n}.yaml"
            text = line(n)
            path.write_text(text)
            runs = [run_cli(path) for _ in range(args.runs)]
            walls = sorted(r[0] for r in runs)
            phases = {k: statistics.median(r[1].get(k, 0.0) for r in runs) for k in runs[0][1]}
            shown = ", ".join(f"{k} {v:.1f}" for k, v in phases.items())
            print(f"{n:>7} {n:>6} {statistics.median(walls):>7.1f}  {shown}  "
                  f"[min {walls[0]:.1f} max {walls[-1]:.1f}; {runs[-1][2]}]")
        mem = idle_probe_memory(line(args.routers[0]))
        ring_mb = 32 * (1 << 18) / (1 << 20)  # probe/live/capture.py: 32 blocks of 256 KiB
        print(f"idle probe (median of {args.routers[0]}): RSS {mem['Rss']:.1f} MiB, PSS {mem['Pss']:.1f} MiB, "
              f"private dirty {mem['Private_Dirty']:.1f} MiB; capture ring {ring_mb:.0f} MiB of kernel memory")
    return 0


if __name__ == "__main__":
    sys.exit(main())
