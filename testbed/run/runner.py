"""`python -m testbed run`: one lab file through a Session, and what came of it.

build -> collectors and probes -> traffic -> wait -> stop (probes flush) ->
verdicts -> teardown; `RunResult` keeps the verdicts, what each collector and
probe reported, the ground truth and the time of each phase.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..expect.verdict import Verdict
from ..lab import STATE_DIR
from ..report import workfiles as W
from .session import Session


@dataclass
class RunResult:
    lab: str
    verdicts: list[Verdict] = field(default_factory=list)
    collectors: dict = field(default_factory=dict)  # name -> CollectorResult
    probe_logs: dict = field(default_factory=dict)  # name -> [stdout of each probe run]
    probe_stats: dict = field(default_factory=dict)  # name -> [`stats` of each run, before it stopped]
    truth: dict = field(default_factory=dict)
    workdir: Path | None = None
    captures: list[Path] = field(default_factory=list)  # pcaps (when the run kept artifacts)
    run_id: str = ""
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # build, start, traffic, wait, stop, teardown
    nfcapd: dict = field(default_factory=dict)  # name -> NfcapdResult of each `kind: nfcapd` collector
    exporters: dict = field(default_factory=dict)  # probe name -> its kind (netflow-lab, softflowd, ...)
    topology: Any = None  # the lab as read (topology.model.Topology), for the HTML report
    contexts: dict = field(default_factory=dict)  # probe name -> expect.context.Context
    workfiles: Any = None  # report.workfiles.WorkFiles: records with reasons, impairments
    probe_final: dict = field(default_factory=dict)  # name -> [statistics of each run at exit, or None]
    commands: dict = field(default_factory=dict)  # probe name -> [argv of each process it started]
    configs: dict = field(default_factory=dict)  # probe name -> {config file name: text}

    @property
    def passed(self) -> bool:
        """Nothing failed (an n/a verdict is not a failure)."""
        return bool(self.verdicts) and all(v.passed for v in self.verdicts)


def result_of(session: Session, workfiles=None) -> RunResult:
    """`workfiles`: read from the lab's workdir before it went (default: now, if it is kept)."""
    r = RunResult(session.topo.name, list(session._verdicts), dict(session.observer.final or {}),
                  {n: p.final_stats for n, p in session.probes.items()},
                  {n: p.stats_at_stop for n, p in session.probes.items()},
                  session.ctx.truth, session.lab.folder, [c.path for c in session.captures],
                  session.run_id, phases=dict(session.phases),
                  nfcapd={n: s.result for n, s in session.nfcapds.items() if s.result is not None},
                  probe_final={n: list(getattr(p, "final", [])) for n, p in session.probes.items()},
                  exporters={n: p.kind for n, p in session.topo.probes.items()}, topology=session.topo,
                  contexts=dict(session.contexts),
                  commands={n: [list(a) for a in p.commands] for n, p in session.probes.items()},
                  configs={n: dict(p.configs) for n, p in session.probes.items()},
                  workfiles=workfiles if workfiles is not None else W.read(session.lab.workdir))
    r.seconds = time.time() - session.began
    return r


class Run:
    def __init__(self, topology, say=print, keep_workdir: Path | None = None,
                 extra_probe_args: tuple[str, ...] = (), capture_dir: Path | None = None,
                 run_id: str | None = None, state_dir: Path = STATE_DIR) -> None:
        self.session = Session(topology, say=say, workdir=keep_workdir, capture_dir=capture_dir,
                               extra_probe_args=extra_probe_args, run_id=run_id, state_dir=state_dir)

    def execute(self) -> RunResult:
        with self.session as s:
            s.run_traffic()
            s.wait_for_exports()
            s.verdicts()
            files = W.read(s.workdir)  # before the teardown removes the workdir
        return result_of(s, files)  # after the teardown: its time counts
