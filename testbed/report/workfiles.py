"""What the exporters and an impairing relay wrote into a lab's workdir, read as data.

The expiry reason of a record is not on the wire, so the report takes it from
the exporter itself when its kind writes a records file (our probe's
`--records-file`): one JSON line per record it exported, with its datagram's
flow_sequence, count and export time. The export tap that impairs a probe's
datagrams (testbed/faults/tap.py) logs each one's fate:
{"t": unix s, "seq", "count", "action": pass|drop|duplicate|reorder|delay|unsent, ...}.
The run says which files those are (its plan named them, testbed/workdir.py)
and reads them before the lab's workdir is removed (testbed/run/runner.py). A
line that does not parse is skipped and counted, never raised.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

ACTIONS = ("pass", "drop", "duplicate", "reorder", "delay", "unsent")


@dataclass(frozen=True)
class SentRecord:
    """One record as its probe exported it (one line of a records file)."""

    run: int  # the probe's run (1, 2, ... after restarts)
    flow_sequence: int  # of its datagram
    count: int  # records in its datagram
    export_ms: int  # the datagram header's unix time, ms
    sys_uptime: int  # the datagram header's uptime, ms
    index: int  # position in the datagram
    key: tuple[str, str, int, int, int, int]  # src, dst, sport, dport, proto, tos
    packets: int
    octets: int
    first: int  # exporter uptime ms, as sent
    last: int
    reason: str

    @property
    def start_ms(self) -> int:
        """Unix ms of its first packet, as a collector computes it (uptime wraps at 2^32)."""
        return self.export_ms - ((self.sys_uptime - self.first) & 0xFFFFFFFF)

    @property
    def end_ms(self) -> int:
        return self.export_ms - ((self.sys_uptime - self.last) & 0xFFFFFFFF)


@dataclass(frozen=True)
class Impairment:
    """What a relay did to one export datagram of a probe."""

    t: float  # unix seconds
    seq: int  # the datagram's flow_sequence
    count: int
    action: str  # one of ACTIONS


@dataclass
class WorkFiles:
    sent: dict[str, list[SentRecord]] = field(default_factory=dict)  # probe -> records, run order
    impairments: dict[tuple[str, str], list[Impairment]] = field(default_factory=dict)  # (probe, collector) -> datagrams
    unreadable: dict[str, int] = field(default_factory=dict)  # file name -> lines skipped


def read(records: dict[str, list[Path]], taps: dict[tuple[str, str], Path]) -> WorkFiles:
    """`records`: probe -> its records file of each run, in run order (missing ones are
    skipped); `taps`: (probe, collector) -> the tap's log."""
    out = WorkFiles()
    for probe, paths in records.items():
        rows = out.sent.setdefault(probe, [])
        for run, path in enumerate(paths, 1):
            if path.exists():
                rows += _lines(path, lambda d, run=run: _sent(d, run), out.unreadable)
    for key, path in taps.items():
        if path.exists():
            out.impairments[key] = [r for r in _lines(path, _impairment, out.unreadable) if r is not None]
    return out


def _lines(path: Path, make, unreadable: dict[str, int]) -> list:
    rows, bad = [], 0
    try:
        text = path.read_text(errors="replace")
    except OSError:
        unreadable[path.name] = -1
        return rows
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            rows.append(make(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            bad += 1
    if bad:
        unreadable[path.name] = bad
    return rows


def _sent(d: dict, run: int) -> SentRecord:
    key = (str(d["src"]), str(d["dst"]), int(d["sport"]), int(d["dport"]), int(d["proto"]), int(d["tos"]))
    return SentRecord(run, int(d["flow_sequence"]), int(d["count"]), int(d["export_ms"]),
                      int(d["sys_uptime"]), int(d["index"]),
                      key, int(d["packets"]), int(d["octets"]), int(d["first"]), int(d["last"]),
                      str(d["reason"]))


def _impairment(d: dict) -> Impairment | None:
    """None: a datagram too short to have a sequence (the tap logs those too)."""
    action = str(d["action"])
    if action not in ACTIONS:
        raise ValueError(action)
    if d.get("seq") is None:
        return None
    return Impairment(float(d["t"]), int(d["seq"]), int(d.get("count") or 0), action)
