"""Mininet habits without root: a Topo subclass read as a lab (hosts, routers by their
ip_forward, intfName/params addresses, defaultRoute and routes, switches as segments,
Mininet's automatic addresses), problems at the Python line that made them, `bw:` and the
refusal of netem's delay/loss, pools in validate --explain, next_hop as an interface."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from testbed.topology import TopologyError, loads
from testbed.topology.mininet_topo import from_topo, load_custom

ROOT = Path(__file__).resolve().parents[2]
CUSTOM = ROOT / "samples" / "mininet" / "linuxrouter.py"
CHECKS = CUSTOM.with_name("linuxrouter-checks.yaml")
HEAD = '''\
from mininet.node import Node
from mininet.topo import Topo


class Router(Node):
    def config(self, **params):
        super().config(**params)
        self.cmd("sysctl -w net.ipv4.ip_forward=1")


class T(Topo):
    def build(self):
'''


def custom(tmp_path, body: str, name: str = "mytopo.py") -> Path:
    path = tmp_path / name
    path.write_text(HEAD + textwrap.indent(textwrap.dedent(body), " " * 8) + "\n\ntopos = {'t': T}\n")
    return path


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def problems(path: Path, expect=None) -> list[str]:
    with pytest.raises(TopologyError) as exc:
        from_topo(load_custom(path, "t"), expect)
    return [str(p) for p in exc.value.problems]


def test_linuxrouter_reads_as_mininet_builds_it():
    t = from_topo(load_custom(CUSTOM, "linuxrouter"), CHECKS)
    r0, h1 = t.nodes["r0"], t.nodes["h1"]
    assert (r0.kind, h1.kind) == ("router", "host")
    assert [(i.name, str(i.addresses[0])) for i in r0.interfaces] == [
        ("r0-eth1", "192.168.1.1/24"), ("r0-eth2", "172.16.0.1/12"), ("r0-eth3", "10.0.0.1/8"),
        ("r0-eth4", "192.168.255.1/30")]
    assert [str(r) for r in h1.routes] == ["0.0.0.0/0 via 192.168.1.1 dev h1-eth0"]
    shaped = next(link for link in t.links if link.bw)
    assert shaped.endpoints == ("c1:c1-eth0", "r0:r0-eth4") and (shaped.bw, shaped.shaper) == (10.0, "htb")
    assert t.where(shaped.line) == f"{_rel(CUSTOM)}:{line_of(CUSTOM, 'self.addLink(c1, router')}"
    assert t.where(t.expect[0].line) == f"{_rel(CHECKS)}:{line_of(CHECKS, 'name: routed-through-r0')}"


def _rel(p: Path) -> str:
    import os
    rel = os.path.relpath(p)
    return str(p) if rel.startswith("..") else rel


def test_switches_are_segments_and_hosts_get_mininets_automatic_addresses(tmp_path):
    path = custom(tmp_path, '''
        s1, s2 = self.addSwitch("s1"), self.addSwitch("s2")
        for h in ("h3", "h1", "h2"):
            self.addLink(self.addHost(h), s1 if h != "h3" else s2)
        self.addLink(s1, s2)
        r = self.addHost("r1", cls=Router, ip="10.0.0.254/8", routes=["192.168.0.0/16 via 10.0.0.1"])
        self.addLink(r, s2, bw=5, use_tbf=True)
        ''')
    t = from_topo(load_custom(path, "t"))
    (segment,) = t.links
    assert sorted(segment.endpoints) == ["h1:h1-eth0", "h2:h2-eth0", "h3:h3-eth0", "r1:r1-eth0"]
    assert (segment.bw, segment.shaper) == (5.0, "tbf")
    # Mininet numbers hosts in name order (h1, h2, h3, then r1 has its own ip)
    assert {n: str(t.nodes[n].interfaces[0].addresses[0]) for n in ("h1", "h2", "h3", "r1")} == {
        "h1": "10.0.0.1/8", "h2": "10.0.0.2/8", "h3": "10.0.0.3/8", "r1": "10.0.0.254/8"}
    assert t.nodes["r1"].kind == "router" and [str(r.prefix) for r in t.nodes["r1"].routes] == ["192.168.0.0/16"]


def test_problems_name_the_python_line_that_made_them(tmp_path):
    path = custom(tmp_path, '''
        r1 = self.addHost("r1", cls=Router, ip="10.0.1.1/24")
        h1 = self.addHost("h1", ip="10.0.1.10/24", defaultRoute="via 10.0.1.1")
        h2 = self.addHost("h2", ip="10.0.9.10/24")
        self.addLink(h1, r1)
        self.addLink(h2, r1, params2={"ip": "10.0.2.1/24"}, delay="5ms")
        self.addLink(h1, r1, intfName1="h1-eth1", max_queue_size=100)
        ''')
    got = problems(path)
    delay, queue = line_of(path, 'delay="5ms"'), line_of(path, "max_queue_size")
    assert got == [f"{_rel(path)}:{queue}: links h1--r1: option max_queue_size= is not something the lab can do "
                   "(it takes: intfName1/2, params1/2 with ip, bw, use_tbf; delay and loss are refused with "
                   "the reason)"]
    del_queue = path.read_text().replace(", max_queue_size=100", "")
    path.write_text(del_queue)
    got = problems(path)
    assert f"{_rel(path)}:{delay}: links[1].delay: delay: needs the netem queueing discipline (sch_netem)" in got[0]
    assert f"{_rel(path)}:{delay}: links[1].endpoints[1].address: r1:r1-eth1 (10.0.2.1/24) shares no subnet " \
           "with h2:h2-eth0 (10.0.9.10/24) on the same link" in got, got


def test_the_expect_file_keeps_its_own_lines(tmp_path):
    expect = tmp_path / "checks.yaml"
    expect.write_text("collectors:\n  ref: {node: c9}\nnodes: {}\n")
    with pytest.raises(TopologyError) as exc:
        from_topo(load_custom(CUSTOM, "linuxrouter"), expect)
    assert [str(p) for p in exc.value.problems] == [
        f"{_rel(expect)}:3: nodes: nodes come from the Topo: give them there (addHost/addLink)"]
    expect.write_text("collectors:\n  ref: {node: c9}\n")
    with pytest.raises(TopologyError) as exc:
        from_topo(load_custom(CUSTOM, "linuxrouter"), expect)
    assert str(exc.value.problems[0]).startswith(f"{_rel(expect)}:2: collectors.ref.node: unknown node 'c9'")


def test_topo_arguments_and_an_unknown_name(tmp_path):
    path = tmp_path / "linear.py"
    path.write_text("from mininet.topo import Topo\n\nclass Linear(Topo):\n"
                    "    def build(self, n=2, prefix='h'):\n        s = self.addSwitch('s1')\n"
                    "        for i in range(n):\n            self.addLink(self.addHost(f'{prefix}{i}'), s)\n"
                    "topos = {'linear': Linear}\n")
    t = from_topo(load_custom(path, "linear,3,prefix=x"))
    assert sorted(t.nodes) == ["x0", "x1", "x2"] and len(t.links[0].endpoints) == 3
    with pytest.raises(TopologyError) as exc:
        load_custom(path, "lineer")
    assert str(exc.value.problems[0]) == f"{path}:1: no topo 'lineer' in linear.py (it has: linear)"


LAB = """\
name: two
pools: {p2p: 10.9.0.0/24}
nodes:
  h1: {kind: host, interfaces: {eth0: 10.0.1.10/24}, routes: [default via r1]}
  r1: {kind: router, interfaces: {eth0: 10.0.1.1/24}, routes: [10.0.3.0/24 via r3]}
  r3: {kind: router}
  c1: {kind: host, interfaces: {eth0: 10.0.1.20/24}}
links:
  - h1:eth0 -- r1:eth0 -- c1:eth0
  - {endpoints: [r1:eth1, r3:eth0], pool: p2p, LINKOPTS}
collectors: {ref: {node: c1}}
probes: {p1: {node: r1, interfaces: [eth0], collectors: [ref]}}
expect:
  - {name: via-r3, kind: flow, match: {dst: 10.0.3.0/24}, next_hop: HOP}
"""


def lab(hop: str = "r3:eth0", linkopts: str = "mtu: 1500"):
    return loads(LAB.replace("HOP", hop).replace("LINKOPTS", linkopts), "two.yaml")


def test_next_hop_names_an_interface_as_in_if_does():
    assert str(lab().expect[0].next_hop) == "10.9.0.2"
    assert str(lab("c1:eth0").expect[0].next_hop) == "10.0.1.20"  # on r1's segment: a neighbour too
    for hop, why in (("r3:eth9", "r3 has no interface 'eth9'"),
                     ("r1:eth1", "next hop r1:eth1 is not a neighbour of p1's router r1")):
        with pytest.raises(TopologyError) as exc:
            lab(hop)
        assert why in str(exc.value.problems[0]), (hop, exc.value.problems)


def test_bw_is_read_and_netem_is_refused_with_the_reason():
    assert (lab(linkopts="bw: 2.5, shaper: tbf").links[1].bw, lab(linkopts="bw: 2.5").links[1].shaper) == (2.5, "htb")
    for opts, why in (("bw: 0", "links[1].bw: expected a rate in Mbit/s > 0"),
                      ("shaper: tbf", "shaper: shapes a link's bw:, which this link does not give"),
                      ("loss: 1", "links[1].loss: loss: needs the netem queueing discipline (sch_netem), which ")):
        with pytest.raises(TopologyError) as exc:
            lab(linkopts=opts)
        assert str(exc.value.problems[0]).startswith(f"two.yaml:10: {why}") or why in str(exc.value.problems[0]), \
            exc.value.problems


def test_validate_explain_shows_what_pools_assigned_and_how_links_are_shaped(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text(LAB.replace("HOP", "r3:eth0").replace("LINKOPTS", "bw: 3"))
    done = subprocess.run([sys.executable, "-m", "testbed", "validate", "--explain", str(path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert ("  link 1 (line 10): r1:eth1 - r3:eth0; pool p2p: 10.9.0.0/30: r1:eth1 = 10.9.0.1/30, "
            "r3:eth0 = 10.9.0.2/30; bw 3 Mbit/s each way (htb)") in done.stdout.splitlines()
