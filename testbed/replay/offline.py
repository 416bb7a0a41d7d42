"""The offline probe on what a replay sent: the same frames at their planned
times, with the lab router's routes and exported ifindexes.

One `python -m probe -r FILE --print` per way into the router (each file's
packets entered by one interface: `--ifindex N` for all of them; flows of
different inputs never share a cache entry, so running them apart changes
no record). It runs in the root namespace on a file and sends nothing.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


from .. import pcap

OFFLINE_TIMEOUT_S = 300
NOT_OFFLINE = ("-i", "-n", "--ifindex", "--control", "--stats-file", "--records-file")  # the live run's own


def route_lines(routes: list[dict], exported: dict[str, int]) -> list[str]:
    """`ip -4 -j route show table all` of a router as offline `--route` values:
    main and local tables (local last: it wins a prefix both hold), the lowest
    metric of a prefix, a multipath route's first live next hop; local and
    reject routes leave with ifindex 0."""
    best: dict[tuple[str, str], tuple[int, str]] = {}
    for r in routes:
        table = r.get("table", "main")
        if table not in ("main", "local"):
            continue
        dst = "0.0.0.0/0" if r["dst"] == "default" else r["dst"]
        hops = [h for h in r.get("nexthops", [r]) if "dead" not in h.get("flags", [])]
        if r.get("type", "unicast") != "unicast":
            line = dst
        elif not hops:
            continue
        else:
            via, dev = hops[0].get("gateway"), hops[0].get("dev")
            line = dst + (f",via={via}" if via and ":" not in via else "") + f",dev={exported.get(dev, 0)}"
        metric = r.get("metric", 0)
        if (table, dst) not in best or metric < best[(table, dst)][0]:
            best[(table, dst)] = (metric, line)
    return [line for (table, _), (_, line) in sorted(best.items(), key=lambda kv: kv[0][0] == "local")]


def options(argv: list[str]) -> list[str]:
    """A live probe's arguments without what only live mode takes."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in NOT_OFFLINE:
            skip = True
        else:
            out.append(a)
    return out


def split_plan(plan: Path, start: float, refs: list[str], folder: Path, rounds: int = 1,
               period: float = 0.0) -> dict[str, tuple[Path, int]]:
    """One pcap per way in (of `refs`) from the replay's plan (one round, played
    `rounds` times `period` seconds apart): the frames at their planned times
    (start + offset), written as the plan is read. Returns ref -> (file, first
    packet's unix ms)."""
    base_ns = round(start * 1e9)
    files: dict[str, tuple] = {}  # ref -> (open file, its path, first packet's ns)
    try:
        for k in range(rounds):
            shift = base_ns + round(k * period * 1e9)
            with open(plan, "rb") as f:
                for c in pcap.read(f):
                    if c.ifname not in refs:
                        continue
                    if c.ifname not in files:
                        path = folder / f"offline-{c.ifname.replace(':', '-')}.pcap"
                        out = open(path, "wb")
                        pcap.write_pcap(out, 1, ())
                        files[c.ifname] = (out, path, shift + c.ts_ns)
                    pcap.write_pcap_records(files[c.ifname][0], [(shift + c.ts_ns, c.data)])
    finally:
        for out, _, _ in files.values():
            out.close()
    return {ref: (path, first // 1_000_000) for ref, (_, path, first) in files.items()}


def run_probe(capture: Path, ifindex: int, routes_file: Path, probe_options: list[str]) -> tuple[list[dict], dict]:
    """The records (JSON) and closing statistics of one offline run."""
    stats = capture.with_suffix(".stats.json")
    argv = [sys.executable, "-m", "probe", "-r", str(capture), "--print", "--ifindex", str(ifindex),
            "--routes-file", str(routes_file), "--stats-file", str(stats), *probe_options]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=OFFLINE_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"offline probe on {capture.name} failed ({done.returncode}): "
                           f"{done.stderr.strip()[-500:]}")
    records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return records, json.loads(stats.read_text())
