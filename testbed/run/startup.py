"""Starting what a run needs in its built lab, in order.

Hosts quiet; captures (with --artifacts); nfcapd collectors; reference
collectors; an export tap on each path a fault step touches (before any
probe sends); then every collector and probe at once (`start_all`); last,
each probe's context for its checks (its router's ifindexes and routes).
"""
from __future__ import annotations

from dataclasses import replace

from .captures import start_captures
from .context import build_context
from .exporters import ExporterService
from .listeners import deaf_exports
from .nfcapds import NfcapdService
from .quiet import quiet_hosts
from .services import CollectorService, ProbeService, start_all
from .taps import TapService


def start_services(s) -> None:
    """Fill the Session `s` (collectors, nfcapds, taps, probes, contexts) and start them."""
    lab, topo = s.lab, s.topo
    quiet_hosts(lab)
    s.say(f"[build] lab {topo.name}: {len(topo.nodes)} nodes, {len(topo.links)} links (run {lab.run_id})")
    specs = list(topo.probes.values())
    if s.capture_dir is not None:
        s.captures = start_captures(lab, specs, topo.collectors.values(), s.capture_dir)
        s.say(f"[pcap]  {len(s.captures)} captures -> {s.capture_dir}")
    for c in topo.collectors.values():
        if c.kind == "nfcapd":
            s.nfcapds[c.name] = NfcapdService(lab, c, lab.workdir)
            s.nfcapds[c.name].start()
        else:
            s.collectors[c.name] = CollectorService(lab, c, lab.workdir)
    start_taps(s)
    for spec in specs:  # a tapped probe exports to its tap, which relays to the collector
        export = tuple(s.taps[spec.name, e.collector].export() if (spec.name, e.collector) in s.taps
                       else e for e in spec.export)
        spec = replace(spec, export=export)
        s.probes[spec.name] = (ProbeService(lab, spec, lab.workdir, s.extra) if spec.kind == "netflow-lab"
                               else ExporterService(lab, spec, lab.workdir))
    with lab.state.batch():
        start_all([*s.collectors.values(), *s.probes.values()])
    s.deaf = deaf_exports(lab, specs)
    base = None
    for spec in specs:
        kind = "" if spec.kind == "netflow-lab" else f" ({spec.kind})"
        s.say(f"[probe] {spec.name}{kind} on {spec.node} "
              f"({', '.join(spec.interfaces)}) -> {', '.join(map(str, spec.export))}")
        ctx = s.contexts[spec.name] = build_context(lab, spec, shared=base)
        ctx.probe, ctx.claims = spec, s.probes[spec.name].claims
        ctx.active_changes = s.probes[spec.name].active_changes  # the same lists: kept current
        ctx.inactive_changes = s.probes[spec.name].inactive_changes
        base = base or ctx


def start_taps(s) -> None:
    """A tap on each export path a fault step touches, before any probe sends."""
    wanted = sorted({t for step in s.topo.traffic for t in step.taps(s.topo)})
    per_probe = {p: sum(1 for q, _ in wanted if q == p) for p, _ in wanted}
    for n, (probe, collector) in enumerate(wanted):
        tap = TapService(s.lab, s.topo.probes[probe], s.topo.collectors[collector], s.lab.workdir, n,
                         per_probe[probe] == 1)
        s.taps[probe, collector] = tap
        tap.start()
    if wanted:
        s.say(f"[tap]   export taps: {', '.join(f'{p} -> {c}' for p, c in wanted)}")
