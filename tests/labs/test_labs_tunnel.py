"""A lab link over VXLAN (topologies/vxlan.yaml): a real tunnel, and the probes still right."""
from __future__ import annotations

import json
import os

import pytest

from labruns import TOPOLOGIES

pytestmark = pytest.mark.root
if os.geteuid() != 0:
    pytest.skip("labs need root (namespaces, veths)", allow_module_level=True)


def _link(lab, node: str, ifname: str) -> dict:
    return json.loads(lab.node(node).run(["ip", "-d", "-s", "-j", "link", "show", "dev", ifname]).stdout)[0]


def test_the_link_is_a_vxlan_tunnel_and_the_records_name_it(netflow_lab):
    lab = netflow_lab(TOPOLOGIES / "vxlan.yaml")
    before = _link(lab, "r1", "eth1")
    assert before["linkinfo"]["info_kind"] == "vxlan"
    info = before["linkinfo"]["info_data"]
    assert (info["id"], info["remote"], info["port"]) == (2, "10.254.0.2", 4789)
    assert before["ifindex"] == lab.ifindex("r1:eth1")
    lab.run_step({"kind": "udp", "from": "h1", "to": "h2", "dport": 7100, "packets": 25, "size": 1400})
    (rec,) = lab.records(dport=7100, exporter="10.255.0.1")  # p1's record, on r1
    assert (rec.packets, rec.input, rec.output) == (25, lab.ifindex("r1:eth0"), before["ifindex"])
    sent = _link(lab, "r1", "eth1")["stats64"]["tx"]["packets"] - before["stats64"]["tx"]["packets"]
    assert sent >= 25  # the packets went into the tunnel (plus export datagrams of p2's records)
    assert _link(lab, "r2", "eth0")["linkinfo"]["info_kind"] == "vxlan"
