"""The verdicts of a stopped run: every check on what its exporter's collector
received, with a frozen Context per exporter (its plan's facts and what the run
saw: records sent, restarts, collector outages, the export tap's log, nfcapd's
view, the routes as the run left them), then a failed verdict for every service
that did not run as it should (a collector or nfcapd that died, exports nothing
listens to, an exporter that crashed)."""
from __future__ import annotations

from ..expect.check import judge
from ..expect.context import Context
from ..expect.path_truth import path_truth
from ..expect.verdict import Verdict
from ..plan import RunPlan
from .observe import Observer
from .running import Record, Running


def contexts(plan: RunPlan, running: Running, record: Record, observer: Observer | None = None,
             routes: dict | None = None) -> dict[str, Context]:
    """Each exporter's Context. With `observer` (once the run stopped): also what
    its collector's outages and its tap's log say about the export path."""
    out = {}
    for name, e in plan.exporters.items():
        x = running.exporters.get(name)
        collector = running.collectors.get(e.collector or "")
        outages = tuple(tuple(o) for o in collector.outages) if collector is not None else ()
        tap = running.taps.get((name, e.collector))
        path = None
        if observer is not None and tap is not None:
            observed = observer.of_probe(name)
            path = path_truth(tap.entries(), observed.datagrams if observed else [], outages, e.engine)
        out[name] = Context(
            e.facts, record.truth, record.step_times, record.step_index, routes or {},
            records_sent=x.records_sent if x is not None else None, restarts=record.restarts[name],
            outages=outages, path=path,
            active_changes=tuple(x.active_changes) if x is not None else (),
            inactive_changes=tuple(x.inactive_changes) if x is not None else (),
            nfcapd={n: c.result for n, c in running.nfcapds.items() if c.result is not None})
    return out


def judge_checks(checks, observer: Observer, ctxs: dict[str, Context]) -> list[Verdict]:
    out = []
    for check in checks:
        observed = observer.of_probe(check.probe)
        if observed is None:
            out.append(check.verdict(False, "", ["no collector result"]))
            continue
        out.append(judge(check, observed, ctxs[check.probe]))
    return out


def service_verdicts(running: Running) -> list[Verdict]:
    out = []
    for name, c in running.collectors.items():
        if c.failure:
            out.append(Verdict(f"collector {name} ran until the end", "collector", False, "", (c.failure,),
                               "the checks above judged what it had received before (see its log in the workdir)"))
    for name, n in running.nfcapds.items():
        if n.failure:
            out.append(Verdict(f"nfcapd {name} ran until the end", "collector", False, "", (n.failure,),
                               f"see nfcapd-{name}.log in the workdir"))
    for name, why in running.deaf.items():
        out.append(Verdict(f"probe {name} exports to listeners", "probe", False, "", tuple(why),
                           "every datagram sent there is lost, and nothing in a lab says so: "
                           "point the probe at a collector of the lab, or start a listener"))
    for name, x in running.exporters.items():  # an exporter that crashed fails the run, whatever it sent
        if x.failures:
            out.append(Verdict(f"probe {name} ran cleanly", "probe", False, "", tuple(x.failures),
                               "the exporter must run until it is stopped and then stop cleanly "
                               "(see its log in the workdir)"))
    return out
