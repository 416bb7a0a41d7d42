"""Each kind's launch() and claims(), pure: the exact command lines and config files."""
from __future__ import annotations

import pytest

from exporters.samples import W, spec
from probe.cli import build_parser
from testbed.exporters import (FIELDS, ICMP_DPORT, KINDS, Claims, kind, netflow_lab)


def words(argv, flag):
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


def test_kinds_are_registered_by_their_lab_names():
    assert list(KINDS) == ["netflow-lab"]
    assert kind("netflow-lab") is netflow_lab
    with pytest.raises(ValueError, match="unknown exporter kind 'nprobe'; known: netflow-lab"):
        kind("nprobe")


@pytest.mark.parametrize("name", list(KINDS))
def test_every_kind_claims_known_fields_and_runs_from_the_workdir(name):
    k = kind(name)
    c = k.claims(spec())
    assert set(c.fills) | set(c.unreliable) <= set(FIELDS)
    launch = k.launch(spec())
    assert launch.processes and all(p.log.startswith("p1.") for p in launch.processes)
    assert all(path.startswith(str(W)) for path in launch.files)


def test_netflow_lab_argv_is_what_the_probe_cli_accepts():
    s = spec(scan_interval=0.5, max_flows=1000, engine_type=7, engine_id=9, args=("--quirk", "uptime-seconds"))
    (p,) = netflow_lab.launch(s).processes
    assert p.argv[1:3] == ("-m", "probe") and p.packet_sockets == 1
    args = build_parser().parse_args(list(p.argv[3:]))
    assert (args.interface, args.collector) == (["eth0", "eth1"], [("10.0.9.2", 2055)])
    assert (args.inactive_timeout, args.active_timeout, args.scan_interval, args.max_flows) == (2.5, 60, 0.5, 1000)
    assert (args.engine_type, args.engine_id, args.quirk) == (7, 9, ["uptime-seconds"])
    assert args.control == netflow_lab.control_path(s) == "/run/lab/w/p1.ctl"
    c = netflow_lab.claims(s)
    assert c.fills == set(FIELDS) and c.tos_in_key and c.expires_on_fin_rst and c.icmp == ICMP_DPORT


def test_claims_windows_and_reasons():
    c = Claims(fills={"input"}, unreliable={"output": "copies input"}, timeout_step_s=1, timer_window_s=(-1, 2))
    assert c.reason("input", "x") is None
    assert c.reason("output", "x") == "x copies input"
    assert c.reason("tos", "x") == "x does not fill tos"
    assert c.effective_timeout(15) == 15 and c.effective_timeout(15.2) == 16
    assert c.export_window(0.4) == (0.0, 3.0)
    with pytest.raises(ValueError, match=r"unknown record field\(s\) \['dstmask'\]"):
        Claims(fills={"dstmask"})
