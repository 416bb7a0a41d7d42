"""What the probes and an impairing relay wrote into a lab's workdir, read as data.

The expiry reason of a record is not on the wire, so the report takes it from
the probe itself: every probe of a lab runs with `--records-file
probe-NAME.RUN.records.jsonl` (testbed/run/services.py), one JSON line per
record it exported, with its datagram's flow_sequence, count and export time.
The export tap that impairs a probe's datagrams (testbed/faults/tap.py) logs
each one's fate to `impair-PROBE.jsonl` (or `impair-PROBE-COLLECTOR.jsonl`):
{"t": unix s, "seq", "count", "action": pass|drop|duplicate|reorder|delay|unsent, ...}.
Read before the lab's workdir is removed (testbed/run/runner.py). A line that
does not parse is skipped and counted, never raised.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

RECORDS = re.compile(r"^probe-(?P<probe>.+)\.(?P<run>\d+)\.records\.jsonl$")
IMPAIR = re.compile(r"^impair-(?P<probe>.+)\.jsonl$")  # PROBE or PROBE-COLLECTOR
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
    impairments: dict[str, list[Impairment]] = field(default_factory=dict)  # PROBE[-COLLECTOR] -> datagrams
    unreadable: dict[str, int] = field(default_factory=dict)  # file name -> lines skipped


def read(workdir: Path | None) -> WorkFiles:
    out = WorkFiles()
    if workdir is None or not Path(workdir).is_dir():
        return out
    files = sorted(Path(workdir).iterdir(), key=lambda p: _run_order(p.name))
    for path in files:
        if m := RECORDS.match(path.name):
            rows = out.sent.setdefault(m["probe"], [])
            rows += _lines(path, lambda d, run=int(m["run"]): _sent(d, run), out.unreadable)
        elif m := IMPAIR.match(path.name):
            rows = _lines(path, _impairment, out.unreadable)
            out.impairments[m["probe"]] = [r for r in rows if r is not None]
    return out


def _run_order(name: str) -> tuple:
    m = RECORDS.match(name)
    return (m["probe"], int(m["run"])) if m else (name, 0)


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
