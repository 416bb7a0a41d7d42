"""This project's probe (`python -m probe`): ng_netflow semantics, kernel routes for enrichment.

One process captures every interface (one AF_PACKET socket) and answers on a
control socket in the workdir; each run writes its statistics and every record
it exported (with the expiry reason) there too. SIGTERM expires every flow,
sends it and exits 0. The runner forks it from a warm interpreter.
"""
from __future__ import annotations

import sys

from .. import workdir as W
from .model import FIELDS, ICMP_DPORT, Claims, ExporterSpec, Feature, Launch, Process

name = "netflow-lab"
package = None
features = frozenset({Feature.CONTROL, Feature.STATS_FILE, Feature.RECORDS_FILE})

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
    argv += ["--engine-type", str(spec.engine_type), "--engine-id", str(spec.engine_id)]
    for ifname, index in spec.ifindex.items():  # the probe reads the kernel's indexes itself
        argv += ["--ifindex", f"{ifname}={index}"]
    argv += [*spec.args, "--control", str(control), "--stats-file", str(stats), "--records-file", str(records)]
    log = W.probe_log(spec.workdir, spec.name, spec.run)
    return Launch(processes=(Process(tuple(argv), str(log), python_main=MAIN, warm=WARM),),
                  ready_timeout_s=READY_TIMEOUT_S, stop_timeout_s=STOP_TIMEOUT_S,
                  control=str(control), stats_file=str(stats), records_file=str(records))
