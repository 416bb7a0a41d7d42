"""This project's probe (`python -m probe`): ng_netflow semantics, kernel routes for enrichment.

One process captures every interface (one AF_PACKET socket) and answers on a
control socket in the workdir. SIGTERM expires every flow, sends it and exits 0.
"""
from __future__ import annotations

import sys

from .model import ICMP_DPORT, FIELDS, Claims, ExporterSpec, Launch, Process

name = "netflow-lab"
package = None


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


def control_path(spec: ExporterSpec) -> str:
    """Its control socket (`python -m probe ctl PATH stats|show|flush|timeouts`)."""
    return spec.path("ctl")


def launch(spec: ExporterSpec) -> Launch:
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
    argv += ["--engine-type", str(spec.engine_type), "--engine-id", str(spec.engine_id)]
    for ifname, index in spec.ifindex.items():  # the probe reads the kernel's indexes itself
        argv += ["--ifindex", f"{ifname}={index}"]
    argv += ["--control", control_path(spec), *spec.args]
    return Launch(processes=(Process(tuple(argv), f"{spec.name}.probe.log"),))
