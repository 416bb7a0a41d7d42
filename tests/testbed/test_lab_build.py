"""Labs built for real (root): wiring, ifindexes, routes, and cleanup in every way a run ends."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from testbed.lab import Lab, LabError, procs
from testbed.plan.interfaces import ifindexes as plan
from testbed.lab.reach import ping
from testbed.topology import Route, load

pytestmark = pytest.mark.root
if os.geteuid() != 0:
    pytest.skip("lab tests need root (namespaces, veths)", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "topologies/quickstart.yaml"
LABRUN = Path(__file__).with_name("labrun.py")


@pytest.fixture
def state_dir(tmp_path):
    return tmp_path / "state"


def _another_run(pid: int, run: str) -> bool:
    """A node shell of another run holds the inode number our namespace had (other
    labs may run on this machine at the same time): not ours."""
    words = procs.cmdline(pid)
    return bool(words) and words[-1].startswith("mininet:") and not words[-1].startswith(f"mininet:{run}-")


def leftovers(state: dict, state_file: Path) -> list[str]:
    """Everything of a run that still exists (empty: it cleaned up completely).

    A zombie counts as gone: it holds no namespace, only waits for init to reap it.
    """
    found = []
    for name, n in state["nodes"].items():
        if procs.alive(n["pid"], n["start"]):
            found.append(f"node shell {name} ({n['pid']})")
    for p in state["processes"]:
        if procs.alive(p["pid"], p["start"]):
            found.append(f"process {p['pid']}")
    held = procs.by_netns()
    found += [f"netns of {name}" for name, n in state["nodes"].items()
              if any(not _another_run(p, state["run_id"]) for p in held.get(n["netns"], []))]
    links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, text=True).stdout)
    found += [i["ifname"] for i in links if state["run_id"] in i["ifname"]]
    if state_file.exists():
        found.append(str(state_file))
    if state.get("workdir_owned") and Path(state["workdir"]).exists():
        found.append(state["workdir"])
    return found


def wait_for(predicate, timeout: float = 2.0):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
    return found


def test_quickstart_builds_and_closes_cleanly(state_dir):
    topo = load(QUICKSTART)
    with Lab(topo, state_dir=state_dir) as lab:
        state = json.loads(lab.state.path.read_text())
        assert set(state["nodes"]) == {"h1", "h2", "r1", "c1"}
        for name, n in state["nodes"].items():  # shells carry the run id: ps shows whose they are
            assert procs.cmdline(n["pid"])[-1] == f"mininet:{lab.run_id}-{name}"
        assert ping(lab.node("h1"), lab.address_of("h2"), count=3) == 3
        assert ping(lab.node("h1"), lab.address_of("c1"), count=1) == 1
        expected = plan(topo)
        for name, node in lab.nodes.items():
            shell_view = json.loads(node.cmd("ip -j link"))  # through Mininet's shell
            for i in topo.node(name).interfaces:
                kernel = next(x["ifindex"] for x in shell_view if x["ifname"] == i.name)
                assert node.ifindex(i.name) == kernel == expected[i.ref]
                assert lab.interface(i.ref).ifindex == kernel
                assert node.addrs(i.name) == [str(a) for a in i.addresses]
        r1 = {(r["dst"], r["dev"]) for r in lab.node("r1").routes()}
        assert r1 == {("10.0.1.0/24", "eth0"), ("10.0.2.0/24", "eth1"), ("10.255.0.0/30", "eth2")}
        assert {"dst": "default", "gateway": "10.0.1.1", "dev": "eth0", "flags": []} in \
            lab.node("h1").routes()
        forwarding = lab.node("r1").run("sysctl -n net.ipv4.ip_forward").stdout.strip()
        assert forwarding == "1"
        assert lab.node("h1").run("sysctl -n net.ipv4.ip_forward").stdout.strip() == "0"
        assert lab.node("h1").run("sysctl -n net.ipv6.conf.eth0.disable_ipv6").stdout.strip() == "1"
        proc = lab.node("r1").popen(["sleep", "600"])
        assert proc.log_path.parent == lab.workdir
        state = json.loads(lab.state.path.read_text())
        assert state["processes"][0]["pid"] == proc.pid
        # mnexec joins the namespace just after the fork
        wait_for(lambda: procs.netns_inode(proc.pid) == state["nodes"]["r1"]["netns"])
        lab.node("h2").cmd("setsid sleep 600 </dev/null >/dev/null 2>&1 &")  # not recorded
        stray = wait_for(lambda: [p for p in procs.by_netns()[state["nodes"]["h2"]["netns"]]
                                  if procs.cmdline(p) == ["sleep", "600"]])
        stray_start = procs.start_time(stray[0])
    lab.close()  # idempotent
    assert leftovers(state, lab.state.path) == []
    assert not procs.alive(stray[0], stray_start)  # found in h2's namespace and stopped


def test_fixed_ifindex_70000(state_dir):
    with Lab(load(ROOT / "topologies/big-ifindex.yaml"), state_dir=state_dir) as lab:
        r1 = lab.node("r1")
        assert r1.ifindex("eth0") == 70000 and lab.interface("r1:eth0").ifindex == 70000
        assert (r1.ifindex("eth1"), r1.ifindex("eth2")) == (2, 3)
        assert ping(lab.node("h1"), "10.0.2.10", count=2) == 2  # in on ifindex 70000


def test_routes_segments_and_link_flaps(state_dir):
    topo = load(ROOT / "topologies/routed.yaml")
    with Lab(topo, state_dir=state_dir) as lab:
        h1, r1 = lab.node("h1"), lab.node("r1")
        assert ping(h1, "10.0.3.3") == 1 and ping(h1, "10.0.3.2") == 1  # across the segment
        routes = {r["dst"]: r for r in r1.routes()}
        assert routes["10.66.0.0/16"]["type"] == "blackhole"
        assert routes["10.77.0.0/16"]["type"] == "unreachable"
        assert (routes["10.0.3.128/25"]["gateway"], routes["10.0.3.128/25"]["metric"]) == \
            ("10.255.1.1", 5)
        assert json.loads(lab.node("h3").run("ip -j link show eth0").stdout)[0]["mtu"] == 1400
        lab.link_down("r1:eth1")
        assert "10.0.3.0/24" not in {r["dst"] for r in r1.routes()}  # the kernel drops them
        assert ping(h1, "10.0.3.3", timeout=0.3) == 0
        lab.link_up("r1:eth1")
        assert {"10.0.3.0/24", "10.0.3.128/25", "10.0.4.0/22"} <= {r["dst"] for r in r1.routes()}
        assert ping(h1, "10.0.3.3") == 1
        lab.link_down("h3:eth0")  # a segment member: its port on the bridge goes down too
        assert ping(h1, "10.0.3.3", timeout=0.3) == 0 and ping(h1, "10.0.3.2") == 1
        lab.link_up("h3:eth0")
        extra = Route(IPv4Network("10.0.99.0/24"), type="blackhole")
        lab.route("r1", "add", extra)
        assert "10.0.99.0/24" in {r["dst"] for r in r1.routes()}
        lab.route("r1", "delete", extra)
        assert "10.0.99.0/24" not in {r["dst"] for r in r1.routes()}


def test_exceptions_and_failed_builds_clean_up(state_dir):
    topo = load(QUICKSTART)
    with pytest.raises(RuntimeError):
        with Lab(topo, state_dir=state_dir) as lab:
            state = json.loads(lab.state.path.read_text())
            raise RuntimeError("boom")
    assert leftovers(state, lab.state.path) == []
    bad = Route(IPv4Network("10.9.0.0/16"), via=IPv4Address("10.0.1.99"), dev="eth9", line=33)
    nodes = dict(topo.nodes, h1=replace(topo.node("h1"), routes=(bad,)))
    lab = Lab(replace(topo, nodes=nodes), state_dir=state_dir)
    with pytest.raises(LabError, match=r"quickstart.yaml:33: h1: ip route add 10.9.0.0/16"):
        lab.start()
    assert not list(state_dir.glob("*.json")) and lab.nodes
    assert all(procs.start_time(n.pid) is None for n in lab.nodes.values())


def start_labrun(state_dir: Path, mode: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(LABRUN), str(QUICKSTART), str(state_dir), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def report_of(proc: subprocess.Popen) -> dict:
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    return json.loads(line)


def clean_cli(state_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "testbed", "clean", "--state-dir",
                           str(state_dir)], capture_output=True, text=True, cwd=ROOT)


def test_sigkill_then_clean_leaves_nothing_and_spares_live_runs(state_dir):
    killed, alive = start_labrun(state_dir, "hold"), start_labrun(state_dir, "hold")
    try:
        dead, live = report_of(killed), report_of(alive)
        assert dead["ping"] == live["ping"] == 3
        dead_state = json.loads(Path(dead["state"]).read_text())
        killed.kill()
        killed.wait()
        assert procs.start_time(dead["proc"]) is not None  # the crash left its process behind
        done = clean_cli(state_dir)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"{dead['run_id']}: stopped process {dead['proc']}" in done.stdout
        assert f"{live['run_id']}: still running" in done.stdout
        assert leftovers(dead_state, Path(dead["state"])) == []
        live_state = json.loads(Path(live["state"]).read_text())
        assert all(procs.start_time(n["pid"]) == n["start"] for n in live_state["nodes"].values())
        alive.send_signal(signal.SIGTERM)  # a polite stop: the run cleans up after itself
        assert alive.wait(timeout=10) == 128 + signal.SIGTERM
        assert leftovers(live_state, Path(live["state"])) == []
    finally:
        for p in (killed, alive):
            if p.poll() is None:
                p.kill()
                p.wait()
        clean_cli(state_dir)


def test_two_labs_at_the_same_time(state_dir):
    runs = [start_labrun(state_dir, "close") for _ in range(2)]
    reports = [report_of(p) for p in runs]
    assert [p.wait(timeout=30) for p in runs] == [0, 0]
    assert reports[0]["run_id"] != reports[1]["run_id"]
    assert [r["ping"] for r in reports] == [3, 3]
    assert set(reports[0]["netns"].values()).isdisjoint(reports[1]["netns"].values())
    assert not list(state_dir.glob("*.json"))
