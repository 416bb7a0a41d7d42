"""What a run has started in its built lab, by kind of service, and what its traffic did.

`Running` holds the services (startup.py fills it from the plan, in order);
`Record` is what the traffic steps reported: the ground truth per flow, when
each named step ended, how often each probe was started again. Both are read
when the run judges (judge.py) and kept for the report (runner.py).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .captures import Capture
from .exporters import ExporterService
from .nfcapds import NfcapdService
from .services import CollectorService
from .taps import TapService


@dataclass
class Running:
    collectors: dict[str, CollectorService] = field(default_factory=dict)  # reference collectors
    nfcapds: dict[str, NfcapdService] = field(default_factory=dict)
    exporters: dict[str, ExporterService] = field(default_factory=dict)
    taps: dict[tuple[str, str], TapService] = field(default_factory=dict)  # (probe, collector) -> its tap
    captures: list[Capture] = field(default_factory=list)
    deaf: dict[str, list[str]] = field(default_factory=dict)  # probe -> its exports nothing listens to

    def taps_of(self, probe: str) -> list[TapService]:
        return [t for (p, _), t in self.taps.items() if p == probe]


@dataclass
class Record:
    truth: dict = field(default_factory=dict)  # FlowId -> FlowTruth of everything sent
    step_times: dict[str, float] = field(default_factory=dict)  # named step -> unix time it ended
    step_index: dict[str, int] = field(default_factory=dict)
    restarts: Counter = field(default_factory=Counter)  # probe -> starts after its first

    def add(self, step, result) -> None:
        """A step's result: its flows (the same flow again in a later step adds up), when it ended."""
        for fid, t in result.truth.items():
            old = self.truth.get(fid)
            if old is None:
                self.truth[fid] = t
            else:
                old.merge(t)
        if step.name:
            self.step_times[step.name] = result.ended
            self.step_index[step.name] = step.index
