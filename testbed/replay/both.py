"""One capture through the live probe in a lab and, on the side, through the
offline probe with the lab's routes and ifindexes; what each exported.

The live run is a Session with one step (the replay) and the conservation
check of its ground truth; the offline run takes the frames the replay
planned, at their planned times (offline.py). `compare` says where the two
record sets differ: a difference points at the live path (capture, clock,
routes), since both runs saw the same packets.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path


from ..expect.verdict import Verdict
from ..run.session import Session
from . import offline
from .compare import Agreement, compare, from_collector, from_offline

SLACK_MS = 10  # beyond the replay's lag: ms rounding on both sides, receive latency


@dataclass
class Outcome:
    truth: Verdict  # conservation: the ground truth against the live records
    agreement: Agreement  # the live records against the offline ones
    summary: str  # the replay's progress line

    @property
    def passed(self) -> bool:
        return self.truth.passed and self.agreement.agree


def replay_both(session: Session, step, probe: str, conservation) -> Outcome:
    """Run `step` (a replay) in the started `session`, stop it, run the offline
    probe on the same frames, compare. `conservation` is the check to judge
    the truth with."""
    plan = session.plan.exporters[probe]
    spec = plan.probe
    router = session.lab.node(spec.node)
    routes = offline.route_lines(json.loads(router.run(["ip", "-4", "-j", "route", "show", "table", "all"]).stdout),
                                 {ref.split(":")[1]: n for ref, n in plan.facts.ifindexes.items()})
    result = session.run_step(step, of=1)
    (truth,) = session.verdicts([conservation])
    observed = session.observer.of_probe(probe)
    live = [from_collector(r) for r in (observed.find() if observed else [])]
    ends = session.running.exporters[probe].ends
    live_reasons = (ends[-1].stats or {}).get("exported", {}) if ends else None

    work = Path(session.workdir)
    routes_file = work / "offline-routes.txt"
    routes_file.write_text("\n".join(routes) + "\n")
    mine = [r for r in result.report.get("ways", [])
            if r.split(":")[0] == spec.node and r.split(":")[1] in spec.interfaces]
    records, reasons = [], {}
    if result.report.get("start") is not None:
        files = offline.split_plan(Path(result.report["plan"]), result.report["start"], mine, work,
                                   result.report.get("rounds", 1), result.report.get("period", 0.0))
        # the lab file's options (a run's --probe-arg words are the live probe's alone)
        own = plan.probe.exporter.launch(replace(plan.spec, args=plan.probe.args))
        opts = offline.options(list(own.processes[0].python_args))
        for ref, (path, start_ms) in files.items():
            got, stats = offline.run_probe(path, plan.facts.ifindexes[ref], routes_file, opts)
            records += [from_offline(d, start_ms) for d in got]
            for reason, n in stats.get("exported", {}).items():
                reasons[reason] = reasons.get(reason, 0) + n
    tolerance = round(result.report.get("lag_s", 0.0) * 1000) + SLACK_MS
    agreement = compare(live, records, tolerance, live_reasons, reasons)
    return Outcome(truth, agreement, result.summary)

