"""Checks' contexts made by hand in tests: the exporter they judge is this project's probe."""
from __future__ import annotations

from probe.constants import ACTIVE_MS, INACTIVE_MS
from testbed.expect.context import Context, Exporter
from testbed.exporters import netflow_lab


def ours(name: str = "p1", node: str = "r1", **kw) -> Exporter:
    """Our probe with ng_netflow's timeouts unless `kw` says otherwise."""
    kw = {"active_timeout": ACTIVE_MS / 1000, "inactive_timeout": INACTIVE_MS / 1000, **kw}
    return Exporter(name, node, netflow_lab.name, netflow_lab.claims(), **kw)


def context(**kw) -> Context:
    """A Context of our probe p1 on r1 (`kw`: the Context's other fields)."""
    return Context(ours(), **kw)
