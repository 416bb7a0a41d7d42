"""Several labs in one command: `testbed run A.yaml B.yaml ... [-j N] [--shard K/N]`.

Each lab runs as its own `python -m testbed run LAB` process (its own run id,
namespaces and cleanup), at most `jobs` at once; each one's report is printed
as a block when it ends, then one summary; the results come back as JSON
(`--result-json`), never parsed from text. `shard` picks a deterministic slice
of the labs for CI matrices.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import Iterator

from ..expect.verdict import Verdict
from ..exporters.model import Launch, Process
from .runner import RunResult

POLL_S = 0.05
CHILD_STOP_S = 60.0  # for the children to tear their labs down once asked


@contextmanager
def terminated_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise KeyboardInterrupt here (default: they would kill this process
    at once and leave its children running), so the children are stopped and waited for."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    old = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def shard(labs: list[str], spec: str | None) -> list[str]:
    """`K/N`: the K-th of N slices (1-based) of the labs in path order."""
    if spec is None:
        return labs
    k, _, n = spec.partition("/")
    if not (k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise ValueError(f"--shard K/N with 1 <= K <= N, got {spec!r}")
    ordered = sorted(labs)
    return [lab for i, lab in enumerate(ordered) if i % int(n) == int(k) - 1]


def result_json(result: RunResult) -> dict:
    return {"lab": result.lab, "run_id": result.run_id, "seconds": result.seconds,
            "phases": result.phases, "verdicts": [asdict(v) for v in result.verdicts],
            "kinds": result.kinds, "nfcapd": {n: asdict(r) for n, r in result.nfcapd.items()},
            "launches": {n: [launch_json(x) for x in ls] for n, ls in result.launches.items()}}


def result_from_json(d: dict) -> RunResult:
    verdicts = [Verdict(**{**v, "problems": tuple(v["problems"])}) for v in d["verdicts"]]
    return RunResult(d["lab"], verdicts, run_id=d["run_id"], seconds=d["seconds"], phases=d["phases"],
                     kinds=d.get("kinds", {}),
                     launches={n: [launch_from_json(x) for x in ls] for n, ls in d["launches"].items()})


def launch_json(launch: Launch) -> dict:
    """A Launch as JSON, every field (compare reports the exact argv and config files)."""
    return {**{f.name: getattr(launch, f.name) for f in fields(Launch)},
            "processes": [asdict(p) for p in launch.processes], "files": dict(launch.files),
            "stop_signal": int(launch.stop_signal), "clean_exits": sorted(launch.clean_exits)}


def launch_from_json(d: dict) -> Launch:
    processes = tuple(Process(**{**p, **{k: tuple(p[k]) for k in ("argv", "stop_command", "warm")}})
                      for p in d["processes"])
    return Launch(**{**d, "processes": processes, "clean_exits": frozenset(d["clean_exits"])})


class Child:
    def __init__(self, n: int, lab: str, argv: list[str], folder: Path) -> None:
        self.lab, self.folder = lab, folder
        self.out = folder / f"{n}-{Path(lab).stem}.out"
        self.result_file = self.out.with_suffix(".json")
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "testbed", "run", lab, *argv,
                                          "--result-json", str(self.result_file)],
                                         stdout=out, stderr=subprocess.STDOUT)

    def result(self) -> RunResult | None:
        try:
            return result_from_json(json.loads(self.result_file.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # it could not run: its output says why


def run_many(labs: list[str], argv_of, jobs: int, folder: Path, say=print) -> list[tuple[str, int, RunResult | None]]:
    """Run each lab (argv_of(lab): its extra arguments); returns (lab, exit status,
    result or None) in the order given. Ctrl-C / SIGTERM stop every child (each
    cleans up its own lab) and re-raise."""
    return run_jobs([(lab, argv_of(lab)) for lab in labs], jobs, folder, say)


def run_jobs(todo: list[tuple[str, list[str]]], jobs: int, folder: Path, say=print,
             show=None) -> list[tuple[str, int, RunResult | None]]:
    """Run each (lab, extra arguments) - a lab may come several times (compare: once per
    exporter); `show(lab, argv, status, result, output)` -> text printed when one ends
    (default: its whole output)."""
    pending, running, done = list(enumerate(todo)), [], {}
    try:
        while pending or running:
            while pending and len(running) < jobs:
                n, (lab, argv) = pending.pop(0)
                running.append((n, argv, Child(n, lab, argv, folder)))
            for n, argv, c in [r for r in running if r[2].proc.poll() is not None]:
                running.remove((n, argv, c))
                done[n] = (c.lab, c.proc.returncode, c.result())
                output = c.out.read_text(errors="replace").rstrip()
                say(output if show is None else show(c.lab, argv, c.proc.returncode, done[n][2], output))
            time.sleep(POLL_S)
    except BaseException:
        for _, _, c in running:
            c.proc.send_signal(signal.SIGTERM)  # each child tears its lab down
        deadline = time.monotonic() + CHILD_STOP_S
        for _, _, c in running:
            try:
                c.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:  # stuck: its state file lets `testbed clean` finish
                c.proc.kill()
                c.proc.wait()
        raise
    return [done[n] for n in range(len(todo))]
