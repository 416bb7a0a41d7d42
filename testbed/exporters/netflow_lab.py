"""This project's probe (`python -m probe`): ng_netflow semantics, kernel routes for enrichment.

One process captures every interface (one AF_PACKET socket) and answers on a
control socket in the workdir; each run writes its statistics and every record
it exported (with the expiry reason) there too. SIGTERM expires every flow,
sends it and exits 0. The runner forks it from a warm interpreter.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

from probe.constants import RING_MAX, RING_MIN, U32_MAX, V9_TEMPLATE_PACKETS, V9_TEMPLATE_S
from probe.options import show_size

from .. import workdir as W
from .model import FIELDS, ICMP_DPORT, Claims, ExporterSpec, Feature, Launch, Process, Unsupported
from .options import Count, Flags, KindOptions, Seconds, Size, declared, option

name = "netflow-lab"
package = None
features = frozenset({Feature.CONTROL, Feature.STATS_FILE, Feature.RECORDS_FILE})
versions = (5, 9)  # --export v5|v9 (v5 the default, as r135400; v9 as netflow_v9.c)


# A lab link carries a few thousand packets a second: 1 MiB (about 5,000 frames of 128 bytes
# kept, 8 blocks the kernel hands over every 5 ms) instead of the probe's 8 MiB, which 250
# probes would pin as 2 GiB of kernel memory. A probe's `ring:` says otherwise.
LAB_RING = 1 << 20
TEMPLATE_OPTIONS = ("template_interval", "template_packets")  # version 9's


@dataclass(frozen=True)
class Options(KindOptions):
    """v9's template refresh (netflow_v9.c's) and the capture ring; every other option is a
    lab field or a quirk."""

    ring: int | None = option(
        Size(RING_MIN, RING_MAX), "--ring",
        f"the capture ring, pinned kernel memory (default {show_size(LAB_RING)} in a lab; 8M: a busy link's bursts)")

    template_interval: float | None = option(
        Seconds(), "--template-interval",
        f"version 9: the template again in the first datagram S seconds after the last (default {V9_TEMPLATE_S})")
    template_packets: int | None = option(
        Count(1, U32_MAX, "a number of datagrams"), "--template-packets",
        f"version 9: ... or N datagrams after it (default {V9_TEMPLATE_PACKETS}; 1: in every one)")


# python -m probe (probe/cli.py, argparse): the options that take a value, and those the kind writes
flags = Flags(takes_value={
    "-r", "--read", "-i", "--interface", "-n", "--collector", "--active-timeout", "--inactive-timeout",
    "--scan-interval", "--max-flows", "--engine-type", "--engine-id", "--export-rate", "--ifindex", "--route",
    "--routes-file", "--engine", "--quirk", "--compat", "--control", "--stats-file", "--records-file",
    "--export", "--template-interval", "--template-packets", "--ring", "--direction"}, sets={
    "--export": "write version: N (5 or 9)",
    "-i": "write interfaces:", "--interface": "write interfaces:",
    "-n": "write collectors:", "--collector": "write collectors:",
    "-r": "a lab probe captures live: write interfaces:", "--read": "a lab probe captures live: write interfaces:",
    "--print": "it exports to the lab's collectors",
    "--active-timeout": "write active_timeout:", "--inactive-timeout": "write inactive_timeout:",
    "--scan-interval": "write scan_interval:", "--max-flows": "write max_flows:",
    "--engine-type": "write engine_type:", "--engine-id": "write engine_id:",
    "--ifindex": "write ifindex: {IFNAME: N} (the checks expect what it sets)",
    "--control": "the run talks to it on the kind's control socket",
    "--stats-file": "the run reads its statistics from the kind's file",
    "--records-file": "the report reads its records from the kind's file",
})

MAIN = "probe.cli:main"
WARM = ("probe.live.daemon", "pyroute2")  # what live mode imports after its start
READY_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 20.0


def claims(spec: ExporterSpec | None = None) -> Claims:
    return Claims(
        fills=frozenset(FIELDS),
        tos_in_key=True,
        icmp=ICMP_DPORT,
        first_packet_flags=True,
        expires_on_fin_rst=True,
        timeout_step_s=0.001,
        timer_window_s=(0.0, (spec.scan if spec else 1.0) + 0.5),  # one scan, and the send
        exports_on_shutdown=True,
        accounts_every_packet=True,
        engine_fields=True,
        notes=("next hop, output ifindex and masks come from the router namespace's kernel routes",),
    )


def launch(spec: ExporterSpec) -> Launch:
    opts = spec.opts(Options)
    set_ = [f for f in declared(Options) if getattr(opts, f.name) is not None]
    v9 = [f for f in set_ if f.name in TEMPLATE_OPTIONS]
    if v9 and spec.version != 9:  # the probe refuses them too, but at its start
        raise Unsupported(f"{spec.name}: {v9[0].name}: the template is version 9's: write version: 9")
    control = W.probe_control(spec.workdir, spec.name)
    stats = W.probe_stats(spec.workdir, spec.name, spec.run)
    records = W.probe_records(spec.workdir, spec.name, spec.run)
    argv = [sys.executable, "-m", "probe"]
    for port in spec.interfaces:
        argv += ["-i", port.name]
    for host, port_ in spec.collectors:
        argv += ["-n", f"{host}:{port_}"]
    argv += ["--active-timeout", f"{spec.active_timeout:g}", "--inactive-timeout", f"{spec.inactive_timeout:g}"]
    if spec.scan_interval is not None:
        argv += ["--scan-interval", f"{spec.scan_interval:g}"]
    if spec.max_flows is not None:
        argv += ["--max-flows", str(spec.max_flows)]
    argv += ["--engine-type", str(spec.engine_type), "--engine-id", str(spec.engine_id), "--export", f"v{spec.version}"]
    for f in set_:
        value = getattr(opts, f.name)
        argv += [f.metadata["flag"], f"{value:.15g}" if isinstance(value, float) else str(value)]
    if opts.ring is None:
        argv += ["--ring", show_size(LAB_RING)]
    for ifname, index in spec.ifindex.items():  # the probe reads the kernel's indexes itself
        argv += ["--ifindex", f"{ifname}={index}"]
    argv += [*spec.args, "--control", str(control), "--stats-file", str(stats), "--records-file", str(records)]
    log = W.probe_log(spec.workdir, spec.name, spec.run)
    return Launch(processes=(Process(tuple(argv), str(log), python_main=MAIN, warm=WARM),),
                  ready_timeout_s=READY_TIMEOUT_S, stop_timeout_s=STOP_TIMEOUT_S,
                  control=str(control), stats_file=str(stats), records_file=str(records))
