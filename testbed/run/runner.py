"""`python -m testbed run`: one lab file through a Session, and what came of it.

build -> collectors and probes -> traffic -> wait -> stop (probes flush) ->
verdicts -> teardown; `RunResult` keeps the verdicts, what each collector and
probe reported, the ground truth and the time of each phase.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..collector import CollectorResult
from ..collector.nfcapd import NfcapdResult
from ..expect.context import Context
from ..expect.verdict import Verdict
from ..lab import STATE_DIR
from ..lab.remote import ServerLost
from ..plan import LOCAL, RunPlan
from ..report import workfiles as W
from ..report.workfiles import WorkFiles
from ..topology import Topology
from .exporters import RunEnd
from .session import Session


@dataclass
class RunResult:
    lab: str
    verdicts: list[Verdict] = field(default_factory=list)
    plan: RunPlan | None = None  # the lab as the run resolved it (None: read back from another process)
    kinds: dict[str, str] = field(default_factory=dict)  # probe name -> its exporter kind
    collectors: dict[str, CollectorResult] = field(default_factory=dict)
    runs: dict[str, list[RunEnd]] = field(default_factory=dict)  # probe name -> how each of its starts ended
    nfcapd: dict[str, NfcapdResult] = field(default_factory=dict)  # each `kind: nfcapd` collector's view
    contexts: dict[str, Context] = field(default_factory=dict)  # probe name -> what its checks knew
    truth: dict = field(default_factory=dict)  # FlowId -> FlowTruth of everything sent
    workdir: Path | None = None
    captures: list[Path] = field(default_factory=list)  # pcaps (when the run kept artifacts)
    workfiles: WorkFiles | None = None  # records with expiry reasons, impairments (for the report)
    run_id: str = ""
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # build, start, traffic, wait, stop, teardown
    launches: dict[str, list] = field(default_factory=dict)  # probe name -> the Launch of each of its starts

    @property
    def topology(self) -> Topology | None:
        return self.plan.topology if self.plan is not None else None

    @property
    def passed(self) -> bool:
        """Nothing failed (an n/a verdict is not a failure)."""
        return bool(self.verdicts) and all(v.passed for v in self.verdicts)


def result_of(session: Session, workfiles: WorkFiles | None = None) -> RunResult:
    """`workfiles`: read from the lab's workdir before it went (default: now, if it is kept)."""
    plan, running = session.plan, session.running
    r = RunResult(session.topo.name, list(session.last_verdicts), plan,
                  {n: p.kind for n, p in session.topo.probes.items()},
                  dict(session.observer.final or {}) if session.observer else {},
                  {n: list(x.ends) for n, x in running.exporters.items()},
                  {n: c.result for n, c in running.nfcapds.items() if c.result is not None},
                  session.contexts() if plan is not None else {}, session.record.truth, session.lab.folder,
                  [c.path for c in running.captures],
                  workfiles if workfiles is not None else read_workfiles(session), session.run_id,
                  phases=dict(session.phases),
                  launches={n: list(x.launches) for n, x in running.exporters.items()})
    r.seconds = time.time() - session.began
    return r


def read_workfiles(session: Session) -> WorkFiles:
    """What the exporters and taps of the run wrote, by the names their plans gave."""
    if session.plan is None:
        return WorkFiles()
    plan = session.plan
    here = lambda node, f: plan.local_copy(plan.placement.get(node, LOCAL), f)  # noqa: E731 - pulled at stop
    records = {name: [here(x.plan.node, f) for run in range(1, x.runs + 1) if (f := x.plan.launch(run).records_file)]
               for name, x in session.running.exporters.items()}
    return W.read(records, {key: here(t.node, t.log) for key, t in plan.taps.items()})


class Run:
    def __init__(self, topology, say=print, keep_workdir: Path | None = None,
                 extra_probe_args: tuple[str, ...] = (), capture_dir: Path | None = None,
                 run_id: str | None = None, state_dir: Path = STATE_DIR) -> None:
        self.session = Session(topology, say=say, workdir=keep_workdir, capture_dir=capture_dir,
                               extra_probe_args=extra_probe_args, run_id=run_id, state_dir=state_dir)

    def execute(self) -> RunResult:
        with self.session as s:
            try:
                s.run_traffic()
                s.wait_for_exports()
                s.verdicts()
            except ServerLost as exc:  # the run cannot go on: its verdict says why
                s.last_verdicts = [s.lost_verdict(exc)]
                s.say(f"[lost]  {exc}")
                return result_of(s, WorkFiles())
            files = read_workfiles(s)  # before the teardown removes the workdir
        return result_of(s, files)  # after the teardown: its time counts
