"""What a check needs to know about the lab, as plain data (no live lab needed).

The runner fills this from the built lab; tests fill it by hand. Names are
resolved here so checks can say `in_if: r1:eth1` and `next_hop: r2`.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Context:
    # "node:ifname" -> ifindex as the probe should export it
    ifindexes: dict[str, int] = field(default_factory=dict)
    # "node:ifname" -> the kernel's real ifindex (for messages)
    kernel_ifindexes: dict[str, int] = field(default_factory=dict)
    # router -> list of (prefix, via, dev) in its routing table, for messages
    routes: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    # FlowId -> FlowTruth from the traffic that was sent
    truth: dict = field(default_factory=dict)
    # step name -> unix time the step ended; step name -> its index
    step_times: dict[str, float] = field(default_factory=dict)
    step_index: dict[str, int] = field(default_factory=dict)
    probe_router: str = ""
    # records the probe says it sent (all its runs), to see loss at either end
    records_sent: int | None = None
    # how many times the traffic (re)started this probe after its first start:
    # each restart may show as one exporter reset in the sequence report
    restarts: int = 0
    # when the probe's collector was down on purpose (a `collector` step):
    # [(down_at, up_at or None)], unix seconds; what it missed then is expected
    outages: list = field(default_factory=list)
    # what the export tap did to the probe's datagrams, when the lab injects faults
    # (expect/path_truth.PathTruth); None: no tap, the path must lose nothing
    path: object = None
    # the probe as the lab file says (kind, timeouts, require) and what its exporter claims
    # (testbed/exporters Claims); a check on what it does not claim is n/a. None: claims all
    probe: object = None
    claims: object = None
    # when the probe's timeouts changed at run time: [(unix time, seconds from then)]
    active_changes: list = field(default_factory=list)
    inactive_changes: list = field(default_factory=list)
    # nfcapd collectors of the lab: name -> NfcapdResult (testbed/collector/nfcapd.py), once stopped
    nfcapd: dict = field(default_factory=dict)
    # the addresses the probe's datagrams come from (its router's); None: whoever exported
    exporter_addresses: frozenset | None = None

    def ifindex(self, ref: str) -> int:
        if ref not in self.ifindexes:
            raise KeyError(f"unknown interface {ref!r}")
        return self.ifindexes[ref]

    def route_for(self, router: str, addr: str) -> str:
        """The route of `router` that covers `addr`, as text for a message."""
        import ipaddress
        best = None
        a = ipaddress.IPv4Address(addr)
        for prefix, via, dev in self.routes.get(router, []):
            net = ipaddress.IPv4Network(prefix, strict=False)
            if a in net and (best is None or net.prefixlen > best[0].prefixlen):
                best = (net, via, dev)
        if best is None:
            return f"{router} has no route to {addr}"
        net, via, dev = best
        how = f" via {via}" if via else ""
        return f"{router} route {net}{how}" + (f" dev {dev}" if dev else "")
