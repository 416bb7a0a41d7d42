"""A two-interface router for the pure tests of launch() and claims()."""
from __future__ import annotations

from pathlib import Path

from testbed.exporters import ExporterSpec, Port

W = Path("/run/lab/w")
ETH0 = Port("eth0", 2, "02:00:00:00:00:01", "10.0.1.1")
ETH1 = Port("eth1", 7, "02:00:00:00:00:02", "10.0.2.1")


def spec(*ports: Port, **kw) -> ExporterSpec:
    base = dict(name="p1", interfaces=ports or (ETH0, ETH1), collectors=(("10.0.9.2", 2055),), workdir=W,
                inactive_timeout=2.5, active_timeout=60)
    return ExporterSpec(**{**base, **kw})
