"""A run plan: a lab file resolved into everything a run does, before anything runs.

Frozen values. `resolve` (resolve.py) makes one from a validated Topology and
the run's workdir; `validate --explain` prints it; the runner (testbed/run/)
builds and starts exactly what it says. Every exporter, ours included, is an
`ExporterPlan`: its kind's Launch for each start (argv, config files, logs),
what its kind offers (features), what it claims and what its records must
carry (the indexes of its router's interfaces), and whose datagrams are its.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from .. import workdir as W
from ..exporters import Claims, ExporterSpec, Feature, Launch
from ..expect.context import Exporter
from ..topology import Collector, Probe, Topology


def _frozen(d: Mapping) -> Mapping:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class ExporterPlan:
    """One exporter of the lab (a `probes:` entry), resolved."""

    probe: Probe  # as the lab file says: name, node, kind, timeouts, require, line
    spec: ExporterSpec  # in the exporter-neutral words of testbed/exporters: its ports as built, where it sends
    claims: Claims
    facts: Exporter  # what its checks know about it (expect/context.py)
    addresses: frozenset[str]  # its router's addresses: a datagram from one of them is its
    engine: tuple[int, int]  # the engine type and id its datagrams carry
    collector: str | None  # the reference collector whose records its checks judge
    alone: bool  # no other exporter of the lab sends to that collector
    starts: int = 1  # how often the lab file's traffic starts it (1 + probe start/restart steps)

    @property
    def name(self) -> str:
        return self.probe.name

    @property
    def node(self) -> str:
        return self.probe.node

    @property
    def kind(self) -> str:
        return self.probe.kind

    @property
    def features(self) -> frozenset[Feature]:
        return self.probe.exporter.features

    def launch(self, run: int = 1) -> Launch:
        """How its `run`-th start runs (1 is the first; later ones log elsewhere)."""
        return self.probe.exporter.launch(replace(self.spec, run=run))


@dataclass(frozen=True)
class CollectorPlan:
    """A collector of the lab: the referee, or nfdump's nfcapd beside it."""

    collector: Collector  # name, node, address, port, kind
    workdir: Path
    starts: int = 1  # how often the lab file's traffic starts it (1 + collector start/restart steps)

    @property
    def name(self) -> str:
        return self.collector.name

    @property
    def node(self) -> str:
        return self.collector.node

    def jsonl(self, run: int = 1) -> Path:
        """The referee's JSON lines of its `run`-th start."""
        return W.collector_jsonl(self.workdir, self.name, run)

    @property
    def folder(self) -> Path:
        """nfcapd's capture files."""
        return W.nfcapd_folder(self.workdir, self.name)

    @property
    def log(self) -> Path:
        return W.nfcapd_log(self.workdir, self.name)


@dataclass(frozen=True)
class TapPlan:
    """An export tap: a relay on a probe's path to a collector, where faults are injected."""

    probe: str
    collector: str
    node: str  # the probe's router, where the tap runs
    listen: tuple[str, int]  # the router's own address towards the collector, and a port
    to: tuple[str, int]  # the collector
    log: Path  # every datagram's fate


@dataclass(frozen=True)
class RunPlan:
    topology: Topology  # the lab as read: nodes, links, routes, traffic steps, checks
    workdir: Path
    ifindexes: Mapping[str, int]  # every interface ("r1:eth0") -> its kernel ifindex
    macs: Mapping[str, str]  # every interface -> its MAC
    exporters: Mapping[str, ExporterPlan] = field(default_factory=dict)
    collectors: Mapping[str, CollectorPlan] = field(default_factory=dict)  # reference collectors
    nfcapds: Mapping[str, CollectorPlan] = field(default_factory=dict)
    taps: Mapping[tuple[str, str], TapPlan] = field(default_factory=dict)  # (probe, collector) -> its tap

    def __post_init__(self) -> None:
        for name in ("ifindexes", "macs", "exporters", "collectors", "nfcapds", "taps"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    @property
    def name(self) -> str:
        return self.topology.name

    def taps_of(self, probe: str) -> list[TapPlan]:
        return [t for (p, _), t in self.taps.items() if p == probe]
