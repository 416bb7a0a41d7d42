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
from dataclasses import asdict
from pathlib import Path

from ..expect.verdict import Verdict
from .runner import RunResult

POLL_S = 0.05


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
            "exporters": result.exporters, "nfcapd": {n: asdict(r) for n, r in result.nfcapd.items()}}


def result_from_json(d: dict) -> RunResult:
    verdicts = [Verdict(**{**v, "problems": tuple(v["problems"])}) for v in d["verdicts"]]
    return RunResult(d["lab"], verdicts, run_id=d["run_id"], seconds=d["seconds"], phases=d["phases"],
                     exporters=d.get("exporters", {}))


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
    pending, running, done = list(enumerate(labs)), [], {}
    try:
        while pending or running:
            while pending and len(running) < jobs:
                n, lab = pending.pop(0)
                running.append(Child(n, lab, argv_of(lab), folder))
            for c in [c for c in running if c.proc.poll() is not None]:
                running.remove(c)
                done[c.lab] = (c.lab, c.proc.returncode, c.result())
                say(c.out.read_text(errors="replace").rstrip())
            time.sleep(POLL_S)
    except BaseException:
        for c in running:
            c.proc.send_signal(signal.SIGTERM)  # each child tears its lab down
        for c in running:
            c.proc.wait()
        raise
    return [done[lab] for lab in labs]
