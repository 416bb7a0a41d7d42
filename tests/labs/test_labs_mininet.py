"""Mininet habits for real: a Topo (Mininet's linuxrouter example) run as a lab from the
command line and from Python, and `bw:` shaping measured with iperf3."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from labruns import TOPOLOGIES

from testbed.lab import Lab
from testbed.run.runner import Run
from testbed.topology import loads
from testbed.topology.mininet_topo import from_topo, load_custom

pytestmark = pytest.mark.root
if os.geteuid() != 0:
    pytest.skip("lab runs need root (namespaces, veths)", allow_module_level=True)

CUSTOM = TOPOLOGIES.parent / "samples" / "mininet" / "linuxrouter.py"
CHECKS = CUSTOM.with_name("linuxrouter-checks.yaml")


def test_a_mininet_topo_runs_as_a_lab_from_any_directory(tmp_path):
    done = subprocess.run([sys.executable, "-m", "testbed", "run", "--custom", str(CUSTOM), "--topo", "linuxrouter",
                           "--expect", str(CHECKS)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[probe] p1 on r0 (r0-eth1, r0-eth2, r0-eth3) -> 192.168.255.2:2055" in done.stdout
    assert "PASS  routed-through-r0     1 record(s), 20 packets, 2560 octets, in 2 out 4" in done.stdout
    assert "PASSED: 3/3 checks passed" in done.stdout


def test_from_python_with_checks_as_data():
    topo = from_topo(load_custom(CUSTOM, "linuxrouter"), expect={
        "collectors": {"ref": {"node": "c1"}},
        "probes": {"p1": {"node": "r0", "interfaces": ["r0-eth2", "r0-eth3"], "collectors": ["ref"]}},
        "traffic": [{"kind": "udp", "name": "back", "from": "h3", "to": "h2", "dport": 7000, "packets": 5}],
        "expect": [{"name": "h3-to-h2", "kind": "flow", "match": {"dport": 7000}, "in_if": "r0:r0-eth3",
                    "out_if": "r0:r0-eth2", "dst_mask": 12, "packets": 5}]})
    result = Run(topo, say=lambda line: None).execute()
    assert result.passed and [v.name for v in result.verdicts] == ["h3-to-h2"], result.verdicts
    with Lab.from_topo(load_custom(CUSTOM, "linuxrouter")) as lab:  # the network alone
        out = lab.node("h1").run(["ping", "-c", "1", "-W", "2", "10.0.0.100"], check=False)
        assert out.returncode == 0, out.stdout + out.stderr


SHAPED = """\
name: shaped
nodes:
  h1: {kind: host, interfaces: {eth0: 10.0.1.10/24}, routes: [default via r1]}
  h2: {kind: host, interfaces: {eth0: 10.0.2.10/24}, routes: [default via r1]}
  h3: {kind: host, interfaces: {eth0: 10.0.3.10/24}, routes: [default via r1]}
  r1: {kind: router, interfaces: {eth0: 10.0.1.1/24, eth1: 10.0.2.1/24, eth2: 10.0.3.1/24}}
links:
  - {endpoints: [h1:eth0, r1:eth0], bw: 4, shaper: tbf}
  - {endpoints: [r1:eth1, h2:eth0], bw: 8}
  - r1:eth2 -- h3:eth0
"""


def _mbit(lab, src: str, dst: str, address: str) -> float:
    """What iperf3 (TCP, 3 s) got through from src to dst, in Mbit/s at the receiver."""
    server = lab.node(dst).popen(["iperf3", "-s", "-1", "-p", "5201"], stdout=subprocess.DEVNULL)
    try:
        for _ in range(50):  # until it listens
            if lab.node(dst).run(["ss", "-ltn", "sport = :5201"], check=False).stdout.count("LISTEN"):
                break
        out = lab.node(src).run(["iperf3", "-c", address, "-t", "3", "-J"], check=False)
    finally:
        server.wait(timeout=15)
    return json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"] / 1e6


def test_bw_shapes_each_link_with_tbf_or_htb():
    """Loose bounds: two cores shared with other work; an unshaped veth moves gigabits."""
    with Lab(loads(SHAPED, "shaped.yaml")) as lab:
        tc = lab.node("h1").run(["tc", "qdisc", "show", "dev", "eth0"]).stdout
        assert "tbf" in tc and "rate 4Mbit" in tc, tc
        assert "htb" in lab.node("h2").run(["tc", "qdisc", "show", "dev", "eth0"]).stdout
        tbf = _mbit(lab, "h1", "h3", "10.0.3.10")  # only h1's link is shaped: 4 Mbit/s, tbf
        htb = _mbit(lab, "h3", "h2", "10.0.2.10")  # only r1 -> h2: 8 Mbit/s, htb
    assert 2.0 <= tbf <= 4.6, tbf
    assert 4.0 <= htb <= 9.2, htb
