"""Labs across servers, as the plan decides them: placement (Mininet's placers' rules),
tunnels between servers, and what validate refuses with file:line."""
from __future__ import annotations

import pytest

from mininet.examples.cluster import RoundRobinPlacer, SwitchBinPlacer
from testbed.plan import LOCAL, resolve, spread
from testbed.plan.explain import explain
from testbed.topology import TopologyError, loads
from testbed.topology.servers import servers_from_option

SERVERS = """servers:
  a: {host: 10.250.1.2}
  b: {host: 10.250.2.2, user: lab, port: 2222}
"""
LAB = """name: two
{servers}nodes:
  h1: {{kind: host, interfaces: {{eth0: 10.0.1.10/24}}, routes: [default via r1]{s1}}}
  r1: {{kind: router, interfaces: {{eth0: 10.0.1.1/24, eth1: 10.0.12.1/24}}, routes: [{r1route}]{s2}}}
  r2: {{kind: router, interfaces: {{eth0: 10.0.12.2/24, eth1: 10.0.9.1/24}}, routes: [10.0.1.0/24 via r1{r2route}]{s3}}}
  c1: {{kind: host, interfaces: {{eth0: 10.0.9.2/24}}, routes: [default via r2]{s4}}}
links:
  - h1:eth0 -- r1:eth0
  - r1:eth1 -- r2:eth0
  - r2:eth1 -- c1:eth0
collectors:
  ref: {{node: c1}}
probes:
  p1: {{node: r1, interfaces: [eth0, eth1], collectors: [ref]}}
"""


def lab(servers=SERVERS, where=("a", "a", "b", "b"), r1route="10.0.9.0/24 via r2", r2route=""):
    marks = {f"s{k}": (f", server: {w}" if w else "") for k, w in enumerate(where, 1)}
    return LAB.format(servers=servers, r1route=r1route, r2route=r2route, **marks)


def chain(n: int) -> str:
    """h1 - r1 - ... - rn, a host on every router (hosts and routers interleaved in file order)."""
    nodes, links = [], []
    for k in range(1, n + 1):
        ifs = [f"eth0: 10.{k}.0.1/24"] + ([f"eth1: 10.200.{k}.1/24"] if k < n else []) + (
            [f"eth2: 10.200.{k - 1}.2/24"] if k > 1 else [])
        nodes += [f"  h{k}: {{kind: host, interfaces: {{eth0: 10.{k}.0.10/24}}}}",
                  f"  r{k}: {{kind: router, interfaces: {{{', '.join(ifs)}}}}}"]
        links.append(f"  - h{k}:eth0 -- r{k}:eth0")
        if k > 1:
            links.append(f"  - r{k - 1}:eth1 -- r{k}:eth2")
    return "name: chain\nnodes:\n" + "\n".join(nodes) + "\nlinks:\n" + "\n".join(links) + "\n"


def problems(text: str) -> list[str]:
    with pytest.raises(TopologyError) as exc:
        resolve(loads(text, source="lab.yaml"))
    return [str(p) for p in exc.value.problems]


def test_no_servers_is_this_machine_and_explain_is_unchanged():
    plan = resolve(loads(lab(servers="", where=(None,) * 4)))
    assert set(plan.servers) == {LOCAL} and plan.servers[LOCAL].local and not plan.spread
    assert set(plan.placement.values()) == {LOCAL} and not plan.tunnels
    assert not any("server" in text for text in explain(plan))


def test_explicit_placement_and_the_tunnel_between_servers():
    plan = resolve(loads(lab()), run_id="nf3a9c")
    assert dict(plan.placement) == {"h1": "a", "r1": "a", "r2": "b", "c1": "b"}
    (t,) = plan.tunnels.values()
    assert t.link == 1 and t.kind == "vxlan" and [(e.ref, e.server, e.address) for e in t.ends] == [
        ("r1:eth1", "a", "10.250.1.2"), ("r2:eth0", "b", "10.250.2.2")]
    assert resolve(loads(lab()), run_id="nf3a9d").tunnels[1].vni != t.vni  # per run
    # each server keeps its nodes' files in its own folder, on it
    assert str(plan.exporters["p1"].spec.workdir) == "/tmp/netflow-lab-nf3a9c.a"
    assert str(plan.collectors["ref"].jsonl()) == "/tmp/netflow-lab-nf3a9c.b/collector-ref.jsonl"
    text = "\n".join(explain(plan))
    assert "node r2 (router, line 8) on server b" in text
    assert "server b: ssh lab@10.250.2.2:2222" in text
    assert "link 1 (line 12): r1:eth1 - r2:eth0 between servers, vxlan" in text


def test_unknown_server_and_unplaced_nodes_name_their_lines():
    assert problems(lab(where=("a", "z", None, "b"))) == [
        "lab.yaml:7: nodes.r1.server: unknown server 'z' (servers: a, b)",
        "lab.yaml:8: nodes.r2: no server: (placement is explicit; say server: one of a, b, or choose "
        "placement: round-robin | by-router)"]
    assert problems(lab(servers="", where=("a", None, None, None))) == [
        "lab.yaml:3: nodes.h1.server: server 'a': the lab has no servers: (add servers:, or run with --servers)"]


def test_a_probe_whose_collector_is_out_of_reach_across_servers():
    assert problems(lab(r2route=", blackhole 10.0.9.2/32")) == [
        "lab.yaml:17: probes.p1: collector ref (10.0.9.2, on c1, server b) is out of reach across the servers: "
        "r1 (a) -> r2 (b): r2 has a blackhole route towards 10.0.9.2"]
    assert problems(lab(r2route=", 10.0.9.2/32 via r1")) == [
        "lab.yaml:17: probes.p1: collector ref (10.0.9.2, on c1, server b) is out of reach across the servers: "
        "r1 (a) -> r2 (b) -> r1 (a): a routing loop at r1"]
    resolve(loads(lab(where=("a", "a", "a", "b"))))  # r2 - c1 crosses: still in reach


def test_what_stays_on_this_machine():
    text = lab().replace("ref: {node: c1}", "ref: {node: c1}\n  n1: {node: c1, port: 9995, kind: nfcapd}")
    assert problems(text) == ["lab.yaml:16: collectors.n1: nfcapd on c1 (server b): nfcapd collectors run on this "
                              "machine only (put the node on a localhost server)"]
    segment = lab().replace("  - r2:eth1 -- c1:eth0", "  - {endpoints: [r2:eth1, c1:eth0, h1:eth1]}").replace(
        "h1: {kind: host, interfaces: {eth0: 10.0.1.10/24}", "h1: {kind: host, interfaces: {eth0: 10.0.1.10/24, "
        "eth1: 10.0.9.3/24}")
    assert problems(segment)[0].startswith("lab.yaml:13: links[2]: a shared segment (3 or more endpoints) must be "
                                           "on one server; its nodes are on a, b")


@pytest.mark.parametrize("routers", [1, 4, 7])
@pytest.mark.parametrize("servers", [["a"], ["a", "b"], ["a", "b", "c"]])
def test_the_rules_are_mininets_placers(routers, servers):
    topo = loads(chain(routers))
    names = {s: {"host": f"10.250.{k}.2"} for k, s in enumerate(servers, 1)}
    got = {}
    for rule in ("round-robin", "by-router"):
        got[rule] = dict(resolve(spread(topo, servers_from_option(
            ",".join(f"{s}={v['host']}" for s, v in names.items())), rule)).placement)
    nodes = list(topo.nodes)
    rr = RoundRobinPlacer(servers=servers, nodes=nodes)
    assert got["round-robin"] == {n: rr.place(n) for n in nodes}
    hosts = [n for n in nodes if not topo.nodes[n].is_router]
    switches = [n for n in nodes if topo.nodes[n].is_router]
    links = [tuple(ln.nodes) for ln in topo.links]
    sb = SwitchBinPlacer(servers=servers, nodes=nodes, hosts=hosts, switches=switches, links=links)
    assert got["by-router"] == {n: sb.place(n) for n in nodes}


def test_servers_on_the_command_line():
    got = servers_from_option("a=10.0.0.1,b=lab@gw.example.net:2222")
    assert [(s.name, s.host, s.user, s.port, str(s.address)) for s in got.values()] == [
        ("a", "10.0.0.1", "root", 22, "10.0.0.1"), ("b", "gw.example.net", "lab", 2222, "None")]
    assert got["b"].needs_sudo and not got["a"].needs_sudo
    for bad, why in (("a", "expected NAME=[USER@]HOST[:PORT], got 'a'"), ("a=h,a=g", "server 'a' named twice"),
                     ("a=h:99999", "a: expected [USER@]HOST[:PORT], got 'h:99999'"),
                     ("1a=h", "bad server name '1a'")):
        with pytest.raises(ValueError, match=why.replace("[", r"\[").replace("]", r"\]")):
            servers_from_option(bad)


def test_server_fields_are_checked_where_written():
    text = lab(servers="servers:\n  a: {host: 10.250.1.2, user: 'Bad User', python: venv/bin/python}\n"
                       "  b: {host: 10.250.2.2, sudo: maybe, colour: red}\n")
    with pytest.raises(TopologyError) as exc:
        loads(text, source="lab.yaml")
    assert [str(p) for p in exc.value.problems] == [
        "lab.yaml:3: servers.a.user: bad user name 'Bad User'",
        "lab.yaml:4: servers.b.colour: unknown field 'colour' (known: host, user, port, python, sudo, address)",
        "lab.yaml:4: servers.b.sudo: expected true or false, got 'maybe'"]
