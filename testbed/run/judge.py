"""The verdicts of a stopped run: every check on what its probe's collector
received, with what the run knows (records sent, collector outages, the
export tap's log, nfcapd's view), then a failed verdict for every service
that did not run as it should (a collector or nfcapd that died, exports
nothing listens to, a probe that crashed)."""
from __future__ import annotations

from ..expect.check import judge
from ..expect.path_truth import path_truth
from ..expect.verdict import Verdict


def judge_checks(s, checks) -> list[Verdict]:
    out = []
    for check in checks:
        observed = s.observer.of_probe(check.probe)
        if observed is None:
            out.append(check.verdict(False, "", ["no collector result"]))
            continue
        ctx = s.contexts.get(check.probe or "", s.ctx)
        probe = s.probes.get(check.probe or "")
        ctx.records_sent = probe.records_sent if probe else None
        name = s.observer.collector_of(check.probe, s.observer.final)
        ctx.outages = [tuple(o) for o in s.collectors[name].outages] if name else []
        tap = s.taps.get((check.probe, name))
        ctx.path = None if tap is None or probe is None else path_truth(
            tap.entries(), observed.datagrams, ctx.outages, probe.engine)
        ctx.nfcapd = {n: c.result for n, c in s.nfcapds.items() if c.result is not None}
        ctx.exporter_addresses = frozenset(s.observer.exporter_addresses(probe.spec)) if probe else None
        out.append(judge(check, observed, ctx))
    return out + service_verdicts(s)


def service_verdicts(s) -> list[Verdict]:
    out = []
    for name, c in s.collectors.items():
        if c.failure:
            out.append(Verdict(f"collector {name} ran until the end", "collector", False, "", (c.failure,),
                               "the checks above judged what it had received before (see its log in the workdir)"))
    for name, n in s.nfcapds.items():
        if n.failure:
            out.append(Verdict(f"nfcapd {name} ran until the end", "collector", False, "", (n.failure,),
                               f"see nfcapd-{name}.log in the workdir"))
    for name, why in s.deaf.items():
        out.append(Verdict(f"probe {name} exports to listeners", "probe", False, "", tuple(why),
                           "every datagram sent there is lost, and nothing in a lab says so: "
                           "point the probe at a collector of the lab, or start a listener"))
    for name, p in s.probes.items():  # a probe that crashed fails the run, whatever it sent
        if p.failures:
            out.append(Verdict(f"probe {name} ran cleanly", "probe", False, "", tuple(p.failures),
                               "the probe process must run until it is stopped and then exit 0 "
                               "(see its log in the workdir)"))
    return out
