"""pmacctd 1.7.7 (Debian package pmacct) with its nfprobe plugin exporting NetFlow v5.

One process captures every interface (`pcap_interfaces_map`, each with the
lab's ifindex and `direction=in`, so a forwarded packet counts once, where it
came in; not promiscuous, like a router); one nfprobe plugin per collector. nfprobe is softflowd 0.9.7's flow
engine, so its timeouts have softflowd's names and whole-second resolution.
SIGTERM: the plugin exports what it holds, then exits 0.
Measured behaviour and its evidence: docs/exporters.md.
"""
from __future__ import annotations

from .model import Claims, ExporterSpec, Launch, Process, refuse
from .softflowd import ENGINE, timeouts

name = "pmacctd"
package = "pmacct"
features: frozenset = frozenset()  # no control socket, no statistics, no records file


def claims(spec: ExporterSpec | None = None) -> Claims:
    return Claims(
        fills=frozenset({"input", "tcp_flags", "tos"}),
        **ENGINE,
        later_fragments_ports_0=False,  # measured: topologies/conformance/fragments.yaml
        exports_on_shutdown=True,
        accounts_every_packet=True,
        engine_fields=True,
        notes=("later fragments are accounted in the first fragment's flow, with its ports (no ports-0 flow)",
               "input ifindex comes from the interfaces map the testbed writes (the lab's ifindexes)",
               "no output ifindex, next hop or masks: pmacctd has no routing table here",
               "TOS is not part of the flow key: a 5-tuple with two TOS values is one record, "
               "with the last packet's TOS",
               "a TCP flow ends tcp.fin/tcp.rst seconds (set to the inactive timeout) after FIN/RST"),
    )


def config(spec: ExporterSpec) -> str:
    """pmacctd.conf: global keys, then one nfprobe plugin per collector."""
    plugins = [f"c{i}" for i in range(len(spec.collectors))]
    lines = ["daemonize: false",
             f"pcap_interfaces_map: {spec.path('pmacctd.map')}",
             "pcap_ifindex: map",
             "promisc: false",
             "plugins: " + ", ".join(f"nfprobe[{p}]" for p in plugins),
             "nfprobe_version: 5",
             f"nfprobe_timeouts: {':'.join(timeouts(spec))}",
             f"nfprobe_engine: {spec.engine_type}:{spec.engine_id}"]
    if spec.max_flows is not None:
        lines.append(f"nfprobe_maxflows: {spec.max_flows}")
    lines += [f"nfprobe_receiver[{p}]: {host}:{port}" for p, (host, port) in zip(plugins, spec.collectors)]
    return "".join(line + "\n" for line in lines)


def interfaces_map(spec: ExporterSpec) -> str:
    return "".join(f"ifindex={spec.record_ifindex(p)} ifname={p.name} direction=in\n" for p in spec.interfaces)


def launch(spec: ExporterSpec) -> Launch:
    refuse(spec, claims(spec))
    conf = spec.path("pmacctd.conf")
    return Launch(
        processes=(Process(("pmacctd", "-f", conf, *spec.args), spec.log(f"{spec.name}.pmacctd.log"),
                           packet_sockets=len(spec.interfaces)),),
        files={conf: config(spec), spec.path("pmacctd.map"): interfaces_map(spec)},
    )
