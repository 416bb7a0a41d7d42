"""fprobe 1.1 (Debian): one libpcap process per interface, NetFlow v5.

fprobe captures one interface and writes 0 into the v5 engine fields, so
each process exports from the router's own address on its interface (`-a`):
to a collector they are separate exporters with a sequence each. The input
ifindex is a constant per process (`-x IFINDEX:0`: no output index); frames
the router sent are left out with `not ether src MAC` (ng_netflow counts a
packet where it comes in), and -p keeps the interface out of promiscuous mode. fprobe chroots into an empty directory of the
workdir, so its pid file lands there and not in /var/run.
SIGTERM: fprobe expires every flow, sends them and exits 0.
Measured behaviour and its evidence: docs/exporters.md.
"""
from __future__ import annotations

from .model import (ICMP_SPORT_DPORT, Claims, ExporterSpec, Launch, Process,
                    Unsupported, refuse, whole_seconds)

name = "fprobe"
package = "fprobe"
features: frozenset = frozenset()  # no control socket, no statistics, no records file

_BURST_LOSS = ("a burst of more than its pending queue (-q, 100 packets) before its unpending thread "
               "wakes (up to 5 s: it misses wake-ups) is dropped: 302 to 688 of a 3000-packet burst "
               "were exported; `args: [-q, 100000]` keeps them all (docs/exporters.md)")


def claims(spec: ExporterSpec | None = None) -> Claims:
    return Claims(
        fills=frozenset({"input", "tcp_flags", "tos"}),
        tos_in_key=False,
        icmp=ICMP_SPORT_DPORT,
        first_packet_flags=True,
        expires_on_fin_rst=False,
        timeout_step_s=1.0,
        timer_window_s=(0.0, 12.0),  # + whole seconds, scan, 5 s unpending, 5 s emit wait
        later_fragments_ports_0=False,  # measured: topologies/conformance/fragments.yaml
        exports_on_shutdown=True,
        accounts_every_packet=False,
        engine_fields=False,
        steady_uptime=False,
        unsupported={"engine_type": "fprobe writes 0 into the v5 engine fields",
                     "engine_id": "fprobe writes 0 into the v5 engine fields",
                     "max_flows": "fprobe has no flow-count limit, only -m KILOBYTES of memory"},
        causes={"accounts_every_packet": _BURST_LOSS},
        notes=("later fragments are accounted in the first fragment's flow, with its ports (no ports-0 flow)",
               "TOS is not part of the flow key: a flow keeps its first packet's TOS",
               "a partial datagram waits up to 5 s (EMIT_TIMEOUT) for more records",
               "sys_uptime restarts at every datagram (UPTIME_TRICK: 2^20 s + the time since the "
               "datagram's first record), so a collector that follows it sees the exporter restart",
               "one process per interface, each its own exporter (source address of that interface)"),
    )


def launch(spec: ExporterSpec) -> Launch:
    refuse(spec, claims(spec))
    if len(spec.interfaces) > 1 and any(p.address is None for p in spec.interfaces):
        raise Unsupported(f"{spec.name}: fprobe runs one process per interface, and each needs an "
                          "address of the router on its interface to export from")
    idle, life, scan = (whole_seconds(t) for t in (spec.inactive_timeout, spec.active_timeout, spec.scan))
    jail = spec.path("fprobe-root")
    processes = []
    for port in spec.interfaces:
        argv = ["fprobe", "-p", "-i", port.name, "-l", f"2:{spec.name}-{port.name}", "-c", jail,
                "-s", str(scan), "-d", str(idle), "-g", str(idle), "-e", str(life),
                "-x", f"{spec.record_ifindex(port)}:0", "-f", f"not ether src {port.mac}"]
        if port.address is not None:
            argv += ["-a", port.address]
        argv += [*spec.args, *(f"{host}:{p}" for host, p in spec.collectors)]
        processes.append(Process(tuple(argv), spec.log(f"{spec.name}.fprobe-{port.name}.log"),
                                 exports_from=port.address))
    # the jail must exist; fprobe writes var/run/fprobe[NAME].pid in it
    return Launch(processes=tuple(processes), files={f"{jail}/var/run/.keep": ""})
