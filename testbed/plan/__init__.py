"""Run plans: a lab file resolved into everything a run does (model.py), made by
resolve.py from a validated Topology, printed by explain.py (`validate --explain`).
`load_plan` reads a lab file and resolves it: what `validate` and `run` both do."""
from __future__ import annotations

from pathlib import Path

from dataclasses import replace
from typing import Mapping

from ..topology import Topology, load
from ..topology.servers import Server
from .model import CollectorPlan, ExporterPlan, RunPlan, ServerPlan, TapPlan
from .placement import LOCAL, TunnelPlan
from .resolve import NOMINAL_WORKDIR, resolve


def spread(topo: Topology, servers: Mapping[str, Server] | None = None, placement: str | None = None) -> Topology:
    """The lab with the servers and placement rule the command line gives (`--servers`,
    `--place`) instead of its file's; None keeps the file's."""
    return replace(topo, servers=dict(topo.servers if servers is None else servers),
                   placement=placement or topo.placement)


def load_plan(path: str | Path, exporter: str | None = None, workdir: Path = NOMINAL_WORKDIR,
              probe_args: tuple[str, ...] = (), servers: Mapping[str, Server] | None = None,
              placement: str | None = None) -> RunPlan:
    """The plan of a lab file (TopologyError lists every problem, file:line)."""
    return resolve(spread(load(path, exporter=exporter), servers, placement), workdir, probe_args)


__all__ = ["CollectorPlan", "ExporterPlan", "LOCAL", "NOMINAL_WORKDIR", "RunPlan", "ServerPlan", "TapPlan",
           "TunnelPlan", "load_plan", "resolve", "spread"]
