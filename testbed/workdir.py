"""Every file a run keeps in its lab's workdir, named in one place.

The exporter kinds and the run's services write these files, the report
reads them: both ask here, and nothing parses a name back. A file that
belongs to one start of an exporter carries its run number (1, then 2...
after each restart); a later run's logs go in a folder of their own.
"""
from __future__ import annotations

from pathlib import Path


def run_folder(workdir: Path, name: str, run: int) -> Path:
    """Where the logs of an exporter's run go: the workdir for its first, NAME-runN/ after."""
    return workdir if run == 1 else workdir / f"{name}-run{run}"


def probe_control(workdir: Path, name: str) -> Path:
    """Our probe's control socket (the same path across restarts)."""
    return workdir / f"probe-{name}.ctl"


def probe_log(workdir: Path, name: str, run: int) -> Path:
    return workdir / f"probe-{name}.{run}.log"


def probe_stats(workdir: Path, name: str, run: int) -> Path:
    """Its statistics at exit (`--stats-file`)."""
    return workdir / f"probe-{name}.{run}.stats.json"


def probe_records(workdir: Path, name: str, run: int) -> Path:
    """Every record it exported, with its expiry reason (`--records-file`)."""
    return workdir / f"probe-{name}.{run}.records.jsonl"


def collector_jsonl(workdir: Path, name: str, run: int) -> Path:
    """A reference collector's JSON lines, one file per start."""
    return workdir / f"collector-{name}{'' if run == 1 else f'.{run}'}.jsonl"


def impair_log(workdir: Path, probe: str, collector: str | None) -> Path:
    """What an export tap did to each datagram (`collector` None: the probe's only tap)."""
    return workdir / (f"impair-{probe}.jsonl" if collector is None else f"impair-{probe}-{collector}.jsonl")


def nfcapd_folder(workdir: Path, name: str) -> Path:
    return workdir / f"nfcapd-{name}"


def nfcapd_log(workdir: Path, name: str) -> Path:
    return workdir / f"nfcapd-{name}.log"



def exporter_launch(workdir: Path, name: str, run: int) -> Path:
    """The exact command lines and config files of an exporter's run (written when it starts)."""
    return workdir / f"launch-{name}.{run}.txt"
