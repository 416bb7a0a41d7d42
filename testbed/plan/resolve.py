"""A validated Topology and a workdir -> the RunPlan a run executes.

Everything is decided here, before anything is built: each interface's
ifindex and MAC, where an export tap goes (the fault steps ask for one) and
the address it listens on, every exporter's spec and its kind's Launch for
each start, what its records must carry, whose datagrams are its and which
collector judges it, every file in the workdir. What an exporter kind cannot
do as the file says is a problem at the probe's line.
"""
from __future__ import annotations

from pathlib import Path

from ..exporters import DEFAULT, ExporterSpec, Port
from ..expect.context import Exporter
from ..schema.errors import Problems, TopologyError
from ..topology import Probe, Topology
from ..topology.model import NFCAPD, REFERENCE, Export
from ..traffic.step import LabState
from .. import workdir as W
from . import interfaces
from .model import CollectorPlan, ExporterPlan, RunPlan, TapPlan

TAP_PORT = 47000  # a tap listens on the router's own address, TAP_PORT + n
NOMINAL_WORKDIR = Path("/tmp/netflow-lab-RUN")  # what `validate --explain` shows


def resolve(topo: Topology, workdir: Path = NOMINAL_WORKDIR, probe_args: tuple[str, ...] = ()) -> RunPlan:
    """The plan of a run of `topo` in `workdir`; `probe_args`: more words for the command
    line of every probe of this project's kind (`run --probe-arg`, `--quirk-on`: our
    probe's options). TopologyError lists every problem (file:line)."""
    problems = Problems(topo.source)
    ifindexes, macs = interfaces.ifindexes(topo), interfaces.macs(topo)
    state = LabState()
    for step in topo.traffic:  # how often each probe and collector starts
        step.check_order(state)
    taps = _taps(topo, workdir, problems)
    exporters = {}
    for p in topo.probes.values():
        got = _exporter(topo, p, workdir, ifindexes, macs, taps, probe_args, problems)
        if got is not None:
            exporters[p.name] = ExporterPlan(**got, starts=1 + state.restarts["probe", p.name])
    for step in topo.traffic:  # a tap is one relay with one source address
        for probe, _ in sorted(step.taps(topo)):
            n = len(exporters[probe].launch().processes) if probe in exporters else 1
            if n > 1:
                problems.add(step.line, f"traffic[{step.index}]",
                             f"{step.kind} needs an export tap on {probe}, but {exporters[probe].kind} exports "
                             f"from {n} processes (one per interface): through one tap they would look like "
                             "one exporter")
    collectors = {c.name: CollectorPlan(c, workdir, 1 + state.restarts["collector", c.name])
                  for c in topo.collectors.values() if c.kind == REFERENCE}
    nfcapds = {c.name: CollectorPlan(c, workdir) for c in topo.collectors.values() if c.kind == NFCAPD}
    if problems:
        raise TopologyError(problems.sorted())
    return RunPlan(topo, workdir, ifindexes, macs, exporters, collectors, nfcapds, taps)


def _taps(topo: Topology, workdir: Path, problems: Problems) -> dict[tuple[str, str], TapPlan]:
    wanted = sorted({t for step in topo.traffic for t in step.taps(topo)})
    per_probe = {p: sum(1 for q, _ in wanted if q == p) for p, _ in wanted}
    out = {}
    for n, (probe, collector) in enumerate(wanted):
        p, c = topo.probes[probe], topo.collectors[collector]
        source = interfaces.source_towards(topo.nodes[p.node], c.address)
        if source is None:
            problems.add(p.line, f"probes.{probe}", f"{p.node} has no source address towards {c.address}")
            continue
        log = W.impair_log(workdir, probe, None if per_probe[probe] == 1 else collector)
        out[probe, collector] = TapPlan(probe, collector, p.node, (str(source), TAP_PORT + n),
                                        (str(c.address), c.port), log)
    return out


def _exporter(topo: Topology, p: Probe, workdir: Path, ifindexes, macs, taps, probe_args,
              problems: Problems) -> dict | None:
    node = topo.nodes[p.node]
    ports = []
    for name in p.interfaces:
        iface = node.interface(name)
        address = str(iface.addresses[0].ip) if iface.addresses else None
        ports.append(Port(name, ifindexes[iface.ref], macs[iface.ref], address))
    export = [_tapped(e, taps.get((p.name, e.collector))) for e in p.export]
    spec = ExporterSpec(name=p.name, interfaces=tuple(ports), collectors=tuple((str(e.address), e.port) for e in export),
                        workdir=workdir, active_timeout=p.active_timeout, inactive_timeout=p.inactive_timeout,
                        scan_interval=p.scan_interval, max_flows=p.max_flows, engine_type=p.engine_type,
                        engine_id=p.engine_id, version=p.version, options=p.options,
                        args=(*p.args, *(probe_args if p.kind == DEFAULT else ())),
                        ifindex=dict(p.ifindex))
    try:
        p.exporter.launch(spec)
    except ValueError as exc:  # Unsupported, or a template the lab gives no value for
        text = str(exc).removeprefix(f"{p.name}: ")
        problems.add(p.line, f"probes.{p.name}", f"{p.kind} cannot run this probe: {text}")
        return None
    claims = p.exporter.claims(spec)
    kernel = {i.name: ifindexes[i.ref] for i in node.interfaces}
    exported = interfaces.exported(kernel, p.ifindex)
    addresses = frozenset(str(a.ip) for a in node.addresses)
    facts = Exporter(p.name, p.node, p.kind, claims, p.require,
                     {f"{p.node}:{n}": i for n, i in exported.items()},
                     {f"{p.node}:{n}": i for n, i in kernel.items()},
                     active_timeout=p.active_timeout, inactive_timeout=p.inactive_timeout, addresses=addresses)
    judged = next((e.collector for e in p.export
                   if e.collector and topo.collectors[e.collector].kind == REFERENCE), None)
    alone = not any(q is not p and any(e.collector == judged for e in q.export) for q in topo.probes.values())
    return dict(probe=p, spec=spec, claims=claims, facts=facts,
                addresses=addresses,
                engine=(p.engine_type, p.engine_id) if claims.engine_fields else (0, 0),
                collector=judged, alone=alone)


def _tapped(e: Export, tap: TapPlan | None) -> Export:
    """Where the probe sends: its tap instead of the collector, when it has one."""
    if tap is None:
        return e
    host, port = tap.listen
    return Export(type(e.address)(host), port, e.collector)
