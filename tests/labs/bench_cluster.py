"""Labs across servers, measured on simulated servers (servers.py): `ci/bench-cluster`.

A generated line (`testbed gen line --routers N --export inband`, a probe on every
router) is run end to end by the coordinator (`python -m testbed run`, in its own
namespace) on this machine alone, then spread by router over 1, 2 and 3 simulated
servers (`--servers ... --place by-router`). Printed per run: wall time, the phases,
and per server its nodes (an SSH session each) and the agent's round trips (to build,
in all). The servers are namespaces of this machine, so they share its 2 cores with
the coordinator: the figures show the protocol's cost (sessions, round trips, build
time per remote node), not what more machines add. Figures only; nothing here passes
or fails.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from servers import Cluster  # noqa: E402
from testbed.topology.gen import line  # noqa: E402

SSH_LINE = re.compile(r"\[ssh\]\s+server (\w+): (\d+) nodes .*: (\d+) to build, (\d+) in all")
BUILD_LINE = re.compile(r"\[ssh\]\s+build: servers connected in ([0-9.]+) s, node shells started in ([0-9.]+) s")


def one(cl: Cluster, lab: Path, servers: list[str], folder: Path) -> dict:
    result = folder / "result.json"
    args = ["run", lab, "--state-dir", cl.state_dir, "--result-json", result]
    if servers:
        args += ["--servers", cl.servers_option(servers), "--place", "by-router"]
    began = time.monotonic()
    got = cl.testbed(*args, timeout=900)
    wall = time.monotonic() - began
    data = json.loads(result.read_text()) if result.exists() else {}
    verdicts = data.get("verdicts", [])
    status = (f"{sum(v['passed'] for v in verdicts)}/{len(verdicts)} checks passed" if verdicts
              else "could not run: " + got.stderr.strip()[-300:])
    per = {m[1]: (int(m[2]), int(m[3]), int(m[4])) for m in SSH_LINE.finditer(got.stdout)}
    build = BUILD_LINE.search(got.stdout)
    return {"wall": wall, "phases": data.get("phases", {}), "status": status, "servers": per,
            "connect": float(build[1]) if build else 0.0, "shells": float(build[2]) if build else 0.0}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--routers", type=int, nargs="+", default=[10, 30])
    p.add_argument("--servers", type=int, nargs="+", default=[0, 1, 2, 3],
                   help="how many servers to spread over (0: this machine alone)")
    p.add_argument("--runs", type=int, default=1)
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("labs need root", file=sys.stderr)
        return 2
    names = ["a", "b", "c"][:max(args.servers)]
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="nfcl-bench-") as tmp, Cluster(Path(tmp) / "cl", names) as cl:
        for n in args.routers:
            lab = Path(tmp) / f"line-{n}.yaml"
            lab.write_text(line(n, export="inband"))
            for s in args.servers:
                runs = [one(cl, lab, names[:s], Path(tmp)) for _ in range(args.runs)]
                wall = statistics.median(r["wall"] for r in runs)
                phases = {k: statistics.median(r["phases"].get(k, 0.0) for r in runs) for k in runs[0]["phases"]}
                last = runs[-1]
                where = "this machine" if not s else f"{s} server{'s' * (s > 1)}"
                print(f"{n:>3} routers on {where:<12} wall {wall:5.1f} s  "
                      + ", ".join(f"{k} {v:.1f}" for k, v in phases.items()) + f"  [{last['status']}]")
                if last["servers"]:
                    most = max(v[0] for v in last["servers"].values())  # servers start their shells in parallel
                    print(f"      build: connecting {statistics.median(r['connect'] for r in runs):.2f} s, node shells "
                          f"{statistics.median(r['shells'] for r in runs):.2f} s "
                          f"({statistics.median(r['shells'] for r in runs) / most * 1000:.0f} ms per node on the "
                          f"busiest server, {most} nodes)")
                for name, (nodes, build, total) in sorted(last["servers"].items()):
                    print(f"      server {name}: {nodes} nodes (SSH sessions), agent round trips {build} to build "
                          f"({build / nodes:.2f} per node), {total} in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
