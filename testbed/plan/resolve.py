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
from . import interfaces, placement as P
from .model import CollectorPlan, ExporterPlan, RunPlan, ServerPlan, TapPlan

TAP_PORT = 47000  # a tap listens on the router's own address, TAP_PORT + n
NOMINAL_WORKDIR = Path("/tmp/netflow-lab-RUN")  # what `validate --explain` shows
REMOTE_WORKDIR = "/tmp/netflow-lab-{run}.{server}"  # a server's own folder for the run, on it


def resolve(topo: Topology, workdir: Path = NOMINAL_WORKDIR, probe_args: tuple[str, ...] = (),
            run_id: str = "RUN") -> RunPlan:
    """The plan of a run of `topo` in `workdir`; `probe_args`: more words for the command
    line of every probe of this project's kind (`run --probe-arg`, `--quirk-on`: our
    probe's options); `run_id` names the servers' folders and the tunnels' VNIs.
    TopologyError lists every problem (file:line)."""
    problems = Problems(topo.source)
    ifindexes, macs = interfaces.ifindexes(topo), interfaces.macs(topo)
    state = LabState()
    for step in topo.traffic:  # how often each probe and collector starts
        step.check_order(state)
    placed = P.place(topo, problems)
    servers = {name: ServerPlan(name, s, workdir if s.local else Path(REMOTE_WORKDIR.format(run=run_id, server=name)))
               for name, s in topo.servers.items()} or {P.LOCAL: ServerPlan(P.LOCAL, None, workdir)}
    wd = {n: servers[placed[n]].workdir if placed.get(n) in servers else workdir for n in topo.nodes}
    tunnels = P.tunnels(topo, placed, run_id, problems)
    _across(topo, placed, problems)
    taps = _taps(topo, wd, problems)
    exporters = {}
    for p in topo.probes.values():
        got = _exporter(topo, p, wd[p.node], ifindexes, macs, taps, probe_args, problems)
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
    collectors = {c.name: CollectorPlan(c, wd[c.node], 1 + state.restarts["collector", c.name])
                  for c in topo.collectors.values() if c.kind == REFERENCE}
    nfcapds = {c.name: CollectorPlan(c, wd[c.node]) for c in topo.collectors.values() if c.kind == NFCAPD}
    if problems:
        raise TopologyError(problems.sorted())
    return RunPlan(topo, workdir, ifindexes, macs, exporters, collectors, nfcapds, taps, servers, placed, tunnels)


def _across(topo: Topology, placed: dict[str, str], problems: Problems) -> None:
    """What a lab spread over servers cannot do: a probe that cannot reach its collector on
    another server, an nfcapd or an export tap on a remote server, a capture replayed
    from senders on different servers."""
    if not topo.servers:
        return
    remote = {n for n, s in placed.items() if s in topo.servers and not topo.servers[s].local}
    for p in topo.probes.values():
        for e in p.export:
            c = topo.collectors.get(e.collector) if e.collector else None
            if c is None or placed.get(c.node) == placed.get(p.node):
                continue
            path, why = interfaces.path_to(topo, p.node, c.address)
            if why is not None:
                hops = " -> ".join(f"{n} ({placed.get(n)})" for n in path)
                problems.add(p.line, f"probes.{p.name}", f"collector {c.name} ({c.address}, on {c.node}, server "
                             f"{placed.get(c.node)}) is out of reach across the servers: {hops}: {why}")
    for c in topo.collectors.values():
        if c.kind == NFCAPD and c.node in remote:
            problems.add(c.line, f"collectors.{c.name}", f"nfcapd on {c.node} (server {placed[c.node]}): nfcapd "
                         "collectors run on this machine only (put the node on a localhost server)")
    for step in topo.traffic:
        for probe, _ in sorted(step.taps(topo)):
            if topo.probes[probe].node in remote:
                problems.add(step.line, f"traffic[{step.index}]", f"{step.kind} needs an export tap on "
                             f"{topo.probes[probe].node} (server {placed[topo.probes[probe].node]}): export taps "
                             "run on this machine only")


def _taps(topo: Topology, workdirs: dict[str, Path], problems: Problems) -> dict[tuple[str, str], TapPlan]:
    wanted = sorted({t for step in topo.traffic for t in step.taps(topo)})
    per_probe = {p: sum(1 for q, _ in wanted if q == p) for p, _ in wanted}
    out = {}
    for n, (probe, collector) in enumerate(wanted):
        p, c = topo.probes[probe], topo.collectors[collector]
        source = interfaces.source_towards(topo.nodes[p.node], c.address)
        if source is None:
            problems.add(p.line, f"probes.{probe}", f"{p.node} has no source address towards {c.address}")
            continue
        log = W.impair_log(workdirs[p.node], probe, None if per_probe[probe] == 1 else collector)
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
