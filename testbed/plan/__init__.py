"""Run plans: a lab file resolved into everything a run does (model.py), made by
resolve.py from a validated Topology, printed by explain.py (`validate --explain`).
`load_plan` reads a lab file and resolves it: what `validate` and `run` both do."""
from __future__ import annotations

from pathlib import Path

from ..topology import load
from .model import CollectorPlan, ExporterPlan, RunPlan, TapPlan
from .resolve import NOMINAL_WORKDIR, resolve


def load_plan(path: str | Path, exporter: str | None = None, workdir: Path = NOMINAL_WORKDIR,
              probe_args: tuple[str, ...] = ()) -> RunPlan:
    """The plan of a lab file (TopologyError lists every problem, file:line)."""
    return resolve(load(path, exporter=exporter), workdir, probe_args)


__all__ = ["CollectorPlan", "ExporterPlan", "NOMINAL_WORKDIR", "RunPlan", "TapPlan", "load_plan", "resolve"]
