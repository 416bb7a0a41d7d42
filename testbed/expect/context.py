"""What a check knows: the exporter it judges, as the run plan resolved it, and what
the run saw. Frozen, built once per probe when a run judges (or waits).

Names are resolved here so checks can say `in_if: r1:eth1` and `next_hop: r2`.
Tests build one by hand (`Context(Exporter(...), truth=...)`); nothing in it
falls back to another exporter's defaults.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from ..exporters import Claims


def _frozen(d: Mapping) -> Mapping:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class Exporter:
    """The exporter a check judges: its kind, what it claims, its settings, its router."""

    name: str
    node: str  # its router
    kind: str  # netflow-lab, softflowd, ... command
    claims: Claims  # a check on what it does not claim is n/a (unless `require:`d)
    require: frozenset[str] = frozenset()
    active_timeout: float = field(kw_only=True)  # seconds, as the lab file set them (no default:
    inactive_timeout: float = field(kw_only=True)  # another kind's would be silently wrong)
    ifindexes: Mapping[str, int] = field(default_factory=dict)  # "node:ifname" -> what its records must carry
    kernel_ifindexes: Mapping[str, int] = field(default_factory=dict)  # "node:ifname" -> the kernel's (messages)
    # its router's addresses: its datagrams come from one of them (empty: not known)
    addresses: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "ifindexes", _frozen(self.ifindexes))
        object.__setattr__(self, "kernel_ifindexes", _frozen(self.kernel_ifindexes))

    @property
    def who(self) -> str:
        """How a verdict names it: its kind, or its name for a command."""
        return self.name if self.kind == "command" else self.kind


@dataclass(frozen=True)
class Context:
    exporter: Exporter
    # FlowId -> FlowTruth from the traffic that was sent
    truth: Mapping = field(default_factory=dict)
    # step name -> unix time the step ended; step name -> its index
    step_times: Mapping[str, float] = field(default_factory=dict)
    step_index: Mapping[str, int] = field(default_factory=dict)
    # router -> ((prefix, via, dev), ...) in its routing table as the run left it, for messages
    routes: Mapping[str, tuple[tuple[str, str, str], ...]] = field(default_factory=dict)
    # records the exporter says it sent (all its runs), to see loss at either end; None: it did not say
    records_sent: int | None = None
    # how many times the traffic (re)started it after its first start:
    # each restart may show as one exporter reset in the sequence report
    restarts: int = 0
    # when its collector was down on purpose (a `collector` step): ((down_at, up_at or None), ...),
    # unix seconds; what it missed then is expected
    outages: tuple = ()
    # what the export tap did to its datagrams, when the lab injects faults
    # (expect/path_truth.PathTruth); None: no tap, the path must lose nothing
    path: object = None
    # when its timeouts changed at run time: ((unix time, seconds from then), ...)
    active_changes: tuple[tuple[float, float], ...] = ()
    inactive_changes: tuple[tuple[float, float], ...] = ()
    # nfcapd collectors of the lab: name -> NfcapdResult (testbed/collector/nfcapd.py), once stopped
    nfcapd: Mapping = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("truth", "step_times", "step_index", "routes", "nfcapd"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    @property
    def claims(self) -> Claims:
        return self.exporter.claims

    def ifindex(self, ref: str) -> int:
        if ref not in self.exporter.ifindexes:
            raise KeyError(f"unknown interface {ref!r}")
        return self.exporter.ifindexes[ref]

    def route_for(self, router: str, addr: str) -> str:
        """The route of `router` that covers `addr`, as text for a message."""
        best = None
        a = ipaddress.IPv4Address(addr)
        for prefix, via, dev in self.routes.get(router, ()):
            net = ipaddress.IPv4Network(prefix, strict=False)
            if a in net and (best is None or net.prefixlen > best[0].prefixlen):
                best = (net, via, dev)
        if best is None:
            return f"{router} has no route to {addr}"
        net, via, dev = best
        how = f" via {via}" if via else ""
        return f"{router} route {net}{how}" + (f" dev {dev}" if dev else "")
