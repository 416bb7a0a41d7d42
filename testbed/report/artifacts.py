"""The artifacts folder: what a run saw, for an operator to dig into afterwards.

`python -m testbed run LAB --artifacts DIR` keeps the lab's workdir in
DIR/work (it is not deleted when the lab closes) and captures into DIR/pcap;
`write()` then adds the decoded and summarised files at the top of DIR and
an index, INDEX.txt, that says what each file is.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

from ..collector.jsonl import json_values
from . import table
from .statistics import probe_runs

WORKDIR = "work"  # the lab's workdir: collector JSONL, probe and node logs, traffic plans
PCAPS = "pcap"  # tcpdump of each probed interface and of the export traffic
INDEX = "INDEX.txt"
REPORT = "report.html"


def write(result, folder: Path, report_section: str | None = None) -> list[Path]:
    """Write the summary files of `result` into `folder`; returns every file it holds.
    `report_section`: the run's HTML section (report/html.py), kept as report.html."""
    folder = Path(folder).absolute()  # the run's own paths (captures, workdir) are absolute
    folder.mkdir(parents=True, exist_ok=True)
    about: dict[Path, str] = {}

    def put(name: str, text: str, what: str) -> None:
        path = folder / name
        path.write_text(text)
        about[path] = what

    for name, res in result.collectors.items():
        put(f"records-{name}.jsonl", "".join(json.dumps(record_json(r)) + "\n" for r in res.records),
            f"every record collector {name} decoded, one JSON object a line")
        put(f"sequence-{name}.json", json.dumps([asdict(r) for r in res.sequence], indent=2) + "\n",
            f"collector {name}'s sequence report, per exporter (lost, duplicates, resets)")
    for name, runs in probe_runs(result).items():
        put(f"probe-{name}.stats.json", json.dumps(runs, indent=2) + "\n",
            f"probe {name}'s counters per run: at exit (final) and just before it was stopped")
    put("sent-flows.jsonl", "".join(json.dumps({**asdict(t.flow), "packets": t.packets, "octets": t.octets,
                                                "first": t.first, "last": t.last, "step": t.step}) + "\n"
                                    for t in result.truth.values()),
        "what the crafted traffic sent, per flow (the ground truth of the checks)")
    put("verdicts.json", json.dumps([{**asdict(v), "status": v.status} for v in result.verdicts],
                                    indent=2) + "\n", "one object per check: status, observed, problems")
    put("report.txt", table.render(result) + "\n", "the report as printed")
    if report_section is not None:
        from .html import page  # here: importing html loads matplotlib
        put(REPORT, page([report_section], f"netflow-lab: {result.lab}"),
            "the report to look at: checks, flow timeline, sequence charts, topology, statistics")
    for path in getattr(result, "captures", []):
        if Path(path).exists():
            about[Path(path)] = "packet capture (tcpdump -w): " + (
                "export datagrams to the collector" if Path(path).name.startswith("export-")
                else "both directions on an interface the probe watches")
    work = result.workdir
    if work and Path(work).is_dir():
        for f in sorted(Path(work).iterdir()):
            if f.is_file():
                about[f] = _describe(f.name)
    status = "PASSED" if result.passed else "FAILED" if result.verdicts else "no checks evaluated"
    lines = [f"Artifacts of lab {result.lab} (run {getattr(result, 'run_id', '') or '?'}): {status}", ""]
    for path, what in sorted(about.items(), key=lambda kv: (len(kv[0].relative_to(folder).parts),
                                                               str(kv[0]))):
        lines.append(f"{str(path.relative_to(folder)):<34} {what}")
    (folder / INDEX).write_text("\n".join(lines) + "\n")
    return [folder / INDEX, *about]


def record_json(r) -> dict:
    """One collector record as a flat JSON object (header fields prefixed)."""
    out = {k: getattr(r, k) for k in ("src", "dst", "sport", "dport", "proto", "tos", "tcp_flags",
                                      "packets", "octets", "input", "output", "next_hop",
                                      "src_mask", "dst_mask", "src_as", "dst_as",
                                      "first", "last", "start_ms", "end_ms")}
    h = r.header
    out.update(exporter=r.exporter, recv_ms=r.recv_ms, index=r.index, seq_status=r.seq_status,
               flow_sequence=h.flow_sequence, sys_uptime=h.sys_uptime, engine_type=h.engine_type,
               engine_id=h.engine_id, version=h.version, source_id=h.source_id, extra=json_values(r.extra),
               findings=[f.code for f in r.findings])
    return out


def _describe(name: str) -> str:
    if name.startswith("collector-") and name.endswith(".jsonl"):
        return "the collector's raw output (datagrams, records, summary)"
    if name.startswith("launch-") and name.endswith(".txt"):
        return "an exporter run's exact command lines and config files"
    if name.startswith("probe-") and name.endswith(".log"):
        return "the probe's output (warnings, exit summary)"
    if name.endswith(".plan.json"):
        return "packets a traffic player was told to send"
    if name.endswith(".sent.json"):
        return "when the traffic player sent each packet"
    if name.endswith(".ctl"):
        return "the probe's control socket"
    if name.endswith(".log"):
        return "output of a process started in a lab node"
    return ""


def cell_files(folder: Path, check: str, selects) -> list[Path]:
    """For a bug report on one check of the run kept in `folder`: the collector lines the
    check looked at (`selects`: its Match) written to cell-CHECK.jsonl (listed when there
    are any), then the captures."""
    from types import SimpleNamespace
    lines = []
    for records in sorted(folder.glob("records-*.jsonl")):
        for line in records.read_text().splitlines():
            if line.strip() and selects(SimpleNamespace(**json.loads(line))):
                lines.append(line + "\n")
    cell = folder / f"cell-{re.sub(r'[^A-Za-z0-9_.-]+', '_', check)}.jsonl"
    cell.write_text("".join(lines))
    return ([cell] if lines else []) + sorted((folder / PCAPS).glob("*.pcap"))
