"""The artifacts folder: what a run saw, for an operator to dig into afterwards."""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path


def write(result, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    work = result.workdir
    if work and work.exists():
        for f in sorted(work.iterdir()):  # collector JSONL and logs, probe logs, traffic plans, pcaps
            if f.is_file() and f.suffix in (".jsonl", ".log", ".pcap", ".json"):
                shutil.copy2(f, folder / f.name)
                written.append(folder / f.name)
    for name, res in result.collectors.items():
        seq = folder / f"sequence-{name}.json"
        seq.write_text(json.dumps([asdict(r) for r in res.sequence], indent=2))
        written.append(seq)
    for name, logs in result.probe_logs.items():
        stats = folder / f"probe-{name}.stats.txt"
        stats.write_text("\n\n".join(logs))
        written.append(stats)
    truth = folder / "sent-flows.jsonl"
    with truth.open("w") as f:
        for t in result.truth.values():
            f.write(json.dumps({**asdict(t.flow), "packets": t.packets, "octets": t.octets,
                                "first": t.first, "last": t.last, "step": t.step}) + "\n")
    written.append(truth)
    verdicts = folder / "verdicts.json"
    verdicts.write_text(json.dumps([{**asdict(v), "status": v.status} for v in result.verdicts], indent=2))
    written.append(verdicts)
    return written
