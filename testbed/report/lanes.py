"""The flow timeline as data: one lane per flow, what was sent and what was exported.

A lane is a sent flow (the traffic's ground truth: each packet's send time)
or, for traffic not crafted packet by packet (ping, iperf3, replay), a flow
only the records show. Each exported record is a bar from its first to its
last packet, with the moment the collector received it and, from the probe's
records file, why the probe expired it. Timed checks add their expected
export window; a failed check marks the lanes it is about. Pure logic over a
RunResult: no drawing here (timeline.py draws).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ..collector.model import DUPLICATE
from ..expect.match import ANY
from ..traffic.plan import FlowId

MAX_LANES = 40  # more flows than this: failed and checked ones first, the rest counted


@dataclass(frozen=True)
class Bar:
    """One exported record of the lane's flow (times in unix seconds)."""

    probe: str
    start: float
    end: float
    recv: float  # when the collector received its datagram (lost: when the probe sent it)
    packets: int
    reason: str | None  # why the probe expired it; None when its records file has no line
    lost: bool = False  # the probe sent it, no reference collector received it


@dataclass(frozen=True)
class Window:
    """When a timed check expected the flow's records (unix seconds)."""

    check: str
    lo: float
    hi: float
    failed: bool


@dataclass
class Lane:
    flow: FlowId
    crafted: bool  # sent by a crafted step: its packets are known
    sent: list[float] = field(default_factory=list)  # each packet's send time
    bars: list[Bar] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)  # checks that name this flow
    failed: list[str] = field(default_factory=list)  # failed checks about this flow
    narrowest: float = float("inf")  # flows selected by the narrowest check that names this one
    id: str = ""  # its element id in the report (`lane-N`)

    @property
    def begins(self) -> float:
        times = self.sent or [b.start for b in self.bars] or [w.lo for w in self.windows]
        return min(times, default=0.0)


@dataclass
class Timeline:
    lanes: list[Lane]  # the lanes shown, in time order
    hidden: int  # lanes left out (MAX_LANES)
    steps: dict[str, float]  # named step -> unix time it ended
    by_check: dict[str, list[str]]  # check name -> ids of the lanes it is about (shown ones)


def probe_of_exporter(topology) -> dict[tuple[str, int, int], str]:
    """(exporter address, engine_type, engine_id) -> probe name."""
    out = {}
    for p in topology.probes.values():
        for a in topology.nodes[p.node].addresses:
            out[(str(a.ip), p.engine_type, p.engine_id)] = p.name
    return out


def sent_by_probes(workfiles) -> dict[tuple, object]:
    """(probe, flow_sequence, export ms, index) -> the record as the probe wrote it."""
    out = {}
    for probe, rows in (workfiles.sent.items() if workfiles else ()):
        for r in rows:
            out[(probe, r.flow_sequence, r.export_ms, r.index)] = r
    return out


def build(result, max_lanes: int = MAX_LANES) -> Timeline:
    topo = result.topology
    lanes: dict[FlowId, Lane] = {fid: Lane(fid, True, sorted(t.times)) for fid, t in result.truth.items()}
    exported = _records(result, lanes)
    _checks(result, lanes, exported)
    # failed first, then the flows a check names most narrowly (one flow before one of 300)
    ranked = sorted(lanes.values(), key=lambda l: (not l.failed, l.narrowest, not l.crafted, l.begins))
    shown = sorted(ranked[:max_lanes], key=lambda l: (l.begins, str(l.flow)))
    by_check: dict[str, list[str]] = defaultdict(list)
    for i, lane in enumerate(shown):
        lane.id = f"lane-{i}"
        for name in lane.checks:
            by_check[name].append(lane.id)
    steps = next(iter(result.contexts.values())).step_times if result.contexts else {}
    return Timeline(shown, len(ranked) - len(shown), dict(steps), dict(by_check))


def _records(result, lanes: dict[FlowId, Lane]) -> dict:
    """Every record as a bar of its flow's lane (a new lane for a flow no crafted
    step sent), and each a probe sent that no reference collector received.
    Returns (probe, flow key) -> [packets, octets] received, for conservation."""
    topo = result.topology
    who = probe_of_exporter(topo) if topo else {}
    sent = sent_by_probes(result.workfiles)
    received = set()
    exported = defaultdict(lambda: [0, 0])

    def lane_of(fid: FlowId) -> Lane:
        return lanes.get(fid) or lanes.setdefault(fid, Lane(fid, False))

    for res in result.collectors.values():
        for r in res.records:
            if r.seq_status == DUPLICATE:
                continue
            h = r.header
            probe = who.get((r.exporter, h.engine_type, h.engine_id), r.exporter)
            fid = FlowId(r.src, r.dst, r.sport, r.dport, r.proto, r.tos)
            ours = sent.get(at := (probe, h.flow_sequence, h.export_ms, r.index))
            received.add(at)
            lane_of(fid).bars.append(Bar(probe, r.start_ms / 1000, r.end_ms / 1000, r.recv_ms / 1000,
                                         r.packets, ours.reason if ours else None))
            got = exported[(probe, fid.key)]
            got[0] += r.packets
            got[1] += r.octets
    watched = {p.name for p in topo.probes.values() if any(e.collector for e in p.export)} if topo else set()
    for at, r in sent.items():
        if at not in received and at[0] in watched:
            lane_of(FlowId(*r.key)).bars.append(Bar(at[0], r.start_ms / 1000, r.end_ms / 1000,
                                                    r.export_ms / 1000, r.packets, r.reason, lost=True))
    return exported


def _checks(result, lanes: dict[FlowId, Lane], exported: dict) -> None:
    """Which lanes each check is about; a timed check's window on them; failures."""
    failed = {v.name for v in result.verdicts if not v.passed}
    for check in (result.topology.expect if result.topology else ()):
        name = check.name
        ctx = result.contexts.get(check.probe) or next(iter(result.contexts.values()), None)
        about = _about(check, lanes.values(), result.truth, exported, ctx, name in failed)
        window = getattr(check, "window", None)
        ref = check.reference(ctx) if ctx is not None and hasattr(check, "reference") else None
        for lane in about:
            lane.checks.append(name)
            lane.narrowest = min(lane.narrowest, len(about))
            if name in failed:
                lane.failed.append(name)
            if window is not None and ref is not None:
                lane.windows.append(Window(name, ref[0] + window[0], ref[0] + window[1], name in failed))


def _about(check, lanes, truth, exported, ctx, failed: bool) -> list[Lane]:
    """The lanes a check is about: those its match selects; for a failed
    conservation check, only the flows whose totals differ."""
    match = check.selects
    if check.kind == "conservation":
        step = ctx.step_index.get(check.step) if ctx is not None and check.step else None
        mine = [l for l in lanes if l.crafted and match(l.flow)
                and (step is None or truth[l.flow].step == step)]
        if not failed:
            return mine if match is not ANY else []
        return [l for l in mine if exported.get((check.probe, l.flow.key), [0, 0])
                != [truth[l.flow].packets, truth[l.flow].octets]]
    if match is ANY:
        return []
    return [l for l in lanes if match(l.flow)]
