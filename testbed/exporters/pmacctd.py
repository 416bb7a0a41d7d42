"""pmacctd 1.7.7 (Debian package pmacct) with its nfprobe plugin exporting NetFlow v5.

One process captures every interface (`pcap_interfaces_map`, each with the
lab's ifindex and `direction=in`, so a forwarded packet counts once, where it
came in; not promiscuous, like a router); one nfprobe plugin per collector. nfprobe is softflowd 0.9.7's flow
engine, so its timeouts have softflowd's names and whole-second resolution.
SIGTERM: the plugin exports what it holds, then exits 0.
Measured behaviour and its evidence: docs/exporters.md.
"""
from __future__ import annotations

from dataclasses import dataclass

from .model import Claims, ExporterSpec, Launch, Process, refuse
from .options import ConfigLines, Flags, KindOptions, option
from .softflowd import ENGINE, TIMEOUTS, idle_timeouts, timeouts

name = "pmacctd"
package = "pmacct"
features: frozenset = frozenset()  # no control socket, no statistics, no records file
versions = (5, 9, 10)  # nfprobe_version; 10 is IPFIX

# Keys of pmacctd.conf this kind writes (a plugin-scoped KEY[NAME] is the same key)
CONFIG = ConfigLines({
    "daemonize": "it runs in the foreground, as the run needs",
    "pcap_interfaces_map": "write interfaces: (the kind writes the map, with the lab's ifindexes)",
    "pcap_ifindex": "write interfaces: (the kind writes the map, with the lab's ifindexes)",
    "pcap_interface": "write interfaces: (the kind writes the map, with the lab's ifindexes)",
    "interface": "write interfaces: (the kind writes the map, with the lab's ifindexes)",
    "pcap_savefile": "a lab probe captures live: write interfaces:",
    "promisc": "it runs without promiscuous mode (a router counts what is addressed to it)",
    "plugins": "the kind runs one nfprobe plugin per collector: write collectors:",
    "nfprobe_version": "write version: N (5, 9 or 10)",
    "nfprobe_timeouts": "write timeouts: {NAME: seconds}, or inactive_timeout:, active_timeout:, scan_interval:",
    "nfprobe_engine": "write engine_type: and engine_id:",
    "nfprobe_maxflows": "write max_flows:",
    "nfprobe_receiver": "write collectors:",
})


@dataclass(frozen=True)
class Options(KindOptions):
    timeouts: tuple[tuple[str, float], ...] | None = option(
        TIMEOUTS, None, "nfprobe_timeouts by name, as softflowd's (tcp, tcp.rst, tcp.fin, udp, icmp, general)")
    config: tuple[tuple[str, str], ...] | None = option(
        CONFIG, None, "more pmacctd.conf lines, {KEY: VALUE} (e.g. nfprobe_source_ip, snaplen, "
        "nfprobe_dont_cache); a key the kind writes is refused")


# getopt's optstring of pmacctd 1.7 (ARGS_PMACCTD), and the words this kind writes
flags = Flags(short="n:NdDhP:b:f:F:c:i:I:m:p:r:s:S:o:t:O:uwWL:RVazA:E:Y:Z:", sets={
    "-f": "the kind writes its config file: write config: {KEY: VALUE}",
    "-i": "write interfaces:",
    "-I": "a lab probe captures live: write interfaces:",
    "-P": "the kind runs one nfprobe plugin per collector: write collectors:",
    "-D": "it runs in the foreground, as the run needs",
    "-N": "it already runs without promiscuous mode",
})


def claims(spec: ExporterSpec | None = None) -> Claims:
    return Claims(
        idle_timeouts=idle_timeouts(spec, Options),
        fills=frozenset({"input", "tcp_flags", "tos"}),
        **ENGINE,
        later_fragments_ports_0=False,  # measured: topologies/conformance/fragments.yaml
        exports_on_shutdown=True,
        one_export=False,  # one nfprobe plugin per collector: its own cache, sequence and datagrams
        accounts_every_packet=True,
        capture_delay_s=1.0,  # measured: a flow 0.5 s old at the stop was lost, 0.8 s old kept
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
             f"nfprobe_version: {spec.version}",
             f"nfprobe_timeouts: {':'.join(timeouts(spec, Options))}",
             # v5: engine type and id; v9/IPFIX take one number, the source id / domain (as ours)
             "nfprobe_engine: " + (f"{spec.engine_type}:{spec.engine_id}" if spec.version == 5
                                   else str(spec.engine_type << 8 | spec.engine_id))]
    if spec.max_flows is not None:
        lines.append(f"nfprobe_maxflows: {spec.max_flows}")
    lines += [f"nfprobe_receiver[{p}]: {host}:{port}" for p, (host, port) in zip(plugins, spec.collectors)]
    lines += [f"{key}: {value}" for key, value in (spec.opts(Options).config or ())]  # the lab's own
    return "".join(line + "\n" for line in lines)


def interfaces_map(spec: ExporterSpec) -> str:
    return "".join(f"ifindex={spec.record_ifindex(p)} ifname={p.name} direction=in\n" for p in spec.interfaces)


def launch(spec: ExporterSpec) -> Launch:
    refuse(spec, claims(spec))
    conf = spec.path("pmacctd.conf")
    return Launch(
        # its capture sockets open before it handles SIGTERM (stopped then, it dies of it, 8 of 8
        # times here); each nfprobe plugin says this once it runs, and then it stops cleanly
        processes=(Process(("pmacctd", "-f", conf, *spec.args), spec.log(f"{spec.name}.pmacctd.log"),
                           packet_sockets=len(spec.interfaces), ready_log="): Exporting flows to ",
                           ready_count=len(spec.collectors)),),
        files={conf: config(spec), spec.path("pmacctd.map"): interfaces_map(spec)},
    )
