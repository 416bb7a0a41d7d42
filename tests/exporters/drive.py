"""One run of an exporter in the routed lab, with known traffic, seen by the reference collector.

    mix     flows that test each claim (TOS pair, FIN session, lone SYN, ICMP,
            a routed flow for next hop and masks); sent first
    filler  3000 UDP packets: fills libpcap ring blocks, so that a tool which
            reads only full blocks (softflowd) gets to see the mix at all
    (wait until the mix is exported, or past the exporter's timer window)
    late    a flow sent right before the stop: exported only by a shutdown flush
    filler  again, for the late flow's block
    stop    as the exporter's Launch says
"""
from __future__ import annotations

import dataclasses
import itertools
import time
from dataclasses import dataclass
from pathlib import Path

from exporters.routedlab import C, FAR_HOST, RoutedLab, icmp, syn, tcp, udp

from testbed.collector import CollectorResult, load_jsonl, start_collector
from testbed.exporters import ExporterSpec, Launch, Port
from testbed.exporters.process import ExporterProcesses, Stopped
from testbed.traffic import plan as P

INACTIVE_S = 3.0
FILLER_SPORT, LATE_SPORT = 49999, 40009
_ports = itertools.count(23000)


def shifted(plans: list[P.Planned], dt: float) -> list[P.Planned]:
    return [P.Planned(round(p.t + dt, 6), p.node, p.data) for p in plans]


def mix() -> list[P.Planned]:
    return (udp("h1", "h2", packets=20, interval=0.02, sport=40000, dport=5001)
            + udp("h2", "h1", packets=5, sport=40003, dport=5003)
            + shifted(udp("h2", "h1", packets=5, sport=40003, dport=5003, tos=0x20), 0.1)
            + tcp("h1", "h2", packets=3, sport=41000, dport=80, close="fin")
            + shifted(syn("h1", "h2", sport=41002, dport=82), 0.05)
            + icmp("h1", "h2", packets=3, icmp_type=3, icmp_code=3)
            + icmp("h2", "h1", packets=2, icmp_type=11, icmp_code=0)
            + udp("h1", FAR_HOST, packets=5, sport=40005, dport=5005))


def filler(interval: float = 0.0003, packets: int = 3000) -> list[P.Planned]:
    """More frames than one ring block of softflowd's holds (1424 here)."""
    return udp("h1", "h2", packets=packets, interval=interval, sport=FILLER_SPORT, dport=9, size=64)


def late() -> list[P.Planned]:
    """Sent from h1 (the interface the fillers fill), right before a filler burst."""
    return udp("h1", "h2", packets=4, interval=0.005, sport=LATE_SPORT, dport=5009)


def spec_for(rl: RoutedLab, workdir: Path, port: int, only: str | None = None, **kw) -> ExporterSpec:
    """The exporter on r's ia and ib (or `only` one of them), exporting to c:port."""
    ports = tuple(Port(name, rl.ifindex[short], rl.lab.mac(rl.r, name), rl.addresses[name])
                  for short, name in rl.ifname.items() if short != "ic" and only in (None, short))
    return ExporterSpec(name="x1", interfaces=ports, collectors=((C, port),), workdir=workdir,
                        inactive_timeout=INACTIVE_S, active_timeout=60.0, **kw)


@dataclass
class Observed:
    truth: dict[P.FlowId, P.FlowTruth]  # every flow sent but the fillers
    last_sent: dict[P.FlowId, float]  # unix time of each flow's last packet
    stop_at: float  # when the stop began
    stopped: Stopped
    result: CollectorResult
    logs: dict[str, str]

    def records(self, flow: P.FlowId) -> list:
        return [r for r in self.result.find() if (r.src, r.dst, r.proto) == (flow.src, flow.dst, flow.proto)
                and (flow.proto == 1 or (r.sport, r.dport) == (flow.sport, flow.dport))]

    def flow(self, sport: int | None = None, proto: int = 17, src: str | None = None) -> P.FlowId:
        found = [f for f in self.truth if f.proto == proto and (sport is None or f.sport == sport)
                 and (src is None or f.src == src)]
        assert len({(f.src, f.dst, f.sport, f.dport) for f in found}) == 1, found
        return found[0]


class Session:
    """The reference collector in c and an exporter in r, for one test."""

    def __init__(self, rl: RoutedLab, launch: Launch, workdir: Path, port: int) -> None:
        self.jsonl = workdir / "collector.jsonl"
        self.collector = start_collector(f"{C}:{port}", self.jsonl, prefix=rl.prefix("c"), args=["--quiet"])
        try:
            self.ex = ExporterProcesses(launch, workdir, prefix=rl.prefix("r")).start()
        except BaseException:
            self.collector.stop()
            raise

    def seen(self) -> CollectorResult:
        """What the collector has received so far."""
        return load_jsonl(self.jsonl)

    def stop(self) -> CollectorResult:
        try:
            self.ex.stop()
        finally:
            result = self.collector.stop()
        return result

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        if self.collector.result is None:
            self.stop()


def next_port() -> int:
    return next(_ports)


def run(rl: RoutedLab, kind, workdir: Path, *, spec_kw: dict | None = None) -> Observed:
    port = next_port()
    spec = spec_for(rl, workdir, port, **(spec_kw or {}))
    claims = kind.claims(spec)
    with Session(rl, kind.launch(spec), workdir, port) as session:
        plans = mix()
        last = rl.play(plans, workdir, "mix")
        rl.play(filler(), workdir, "filler1")
        _wait_exported(session, P.truth_of(plans, 0),
                       max(last.values()) + claims.export_window(spec.inactive_timeout)[1] + 1)
        last.update(rl.play(late() + shifted(filler(0, 1600), 0.03), workdir, "late"))
        stop_at = time.time()  # the late flow ended less than a second ago
        result = session.stop()
    truth = P.truth_of(plans + late(), 0)
    return Observed(truth, {f: t for f, t in last.items() if f in truth}, stop_at, session.ex.stopped,
                    result, session.ex.logs())


def _wait_exported(session: Session, truth: dict, deadline: float) -> None:
    """Until every mix flow has a record (or the deadline)."""
    while time.time() < deadline:
        seen = {(r.src, r.dst, r.proto, r.sport if r.proto != 1 else 0) for r in session.seen().find()}
        if all((f.src, f.dst, f.proto, f.sport) in seen for f in truth):
            return
        time.sleep(0.2)


def tos_pair(sport: int) -> list[P.Planned]:
    """One 5-tuple h1 -> h2: 3 packets with TOS 0x20, then 3 with TOS 0x08."""
    return (udp("h1", "h2", packets=3, sport=sport, tos=0x20)
            + shifted(udp("h1", "h2", packets=3, sport=sport, tos=0x08), 0.1))
