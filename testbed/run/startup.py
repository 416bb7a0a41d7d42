"""Starting what a run's plan says in its built lab, in order.

Hosts quiet; captures (with --artifacts); nfcapd collectors; the export
taps; every reference collector, started together and waited for until each
is bound (`start_all`); only then every exporter, started together: an
exporter that sends at once (a replay such as nfdump's nfreplay) loses
nothing to a collector still starting. Last, which literal destinations hear
nothing.
"""
from __future__ import annotations

from pathlib import Path

from ..exporters import DEFAULT
from ..plan import RunPlan
from .captures import start_captures
from .exporters import ExporterService
from .listeners import deaf_exports
from .nfcapds import NfcapdService
from .quiet import quiet_hosts
from .running import Running
from .services import CollectorService, start_all
from .taps import TapService


def start_services(plan: RunPlan, lab, running: Running, say, capture_dir: Path | None = None) -> None:
    """Fill `running` as it starts (what started is in it if a start fails: the caller stops it)."""
    topo = plan.topology
    quiet_hosts(lab)
    say(f"[build] lab {topo.name}: {len(topo.nodes)} nodes, {len(topo.links)} links (run {lab.run_id})")
    if capture_dir is not None:
        running.captures = start_captures(lab, list(topo.probes.values()), topo.collectors.values(), capture_dir)
        say(f"[pcap]  {len(running.captures)} captures -> {capture_dir}")
    for name, c in plan.nfcapds.items():
        running.nfcapds[name] = NfcapdService(c, lab)
        running.nfcapds[name].start()
    running.collectors.update({name: CollectorService(c, lab) for name, c in plan.collectors.items()})
    for key, t in plan.taps.items():
        running.taps[key] = TapService(t, lab)
        running.taps[key].start()
    if plan.taps:
        say(f"[tap]   export taps: {', '.join(f'{p} -> {c}' for p, c in plan.taps)}")
    running.exporters.update({name: ExporterService(e, lab) for name, e in plan.exporters.items()})
    with lab.state.batch():
        start_all(list(running.collectors.values()))  # bound: what arrives from now on waits for them
        start_all(list(running.exporters.values()))
    running.deaf = deaf_exports(lab, topo.probes.values())
    for e in plan.exporters.values():
        kind = "" if e.kind == DEFAULT else f" ({e.kind})"
        say(f"[probe] {e.name}{kind} on {e.node} ({', '.join(e.probe.interfaces)}) -> "
            f"{', '.join(map(str, e.probe.export))}")
