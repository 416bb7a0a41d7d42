"""Labs spread over servers, on simulated servers (servers.py): each a namespace with its
own sshd, /tmp and /run, reached by the coordinator (`python -m testbed`, in a namespace
of its own) only over SSH on an underlay bridge. A lab runs green across them with
probes on both ends of a tunnel between servers; placement from the command line;
a server lost mid-run fails the run and nothing stays on the others; `testbed clean`
and Ctrl-C clean every server."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from labruns import TOPOLOGIES
from servers import Cluster, _in

pytestmark = [pytest.mark.root, pytest.mark.slow]
if os.geteuid() != 0 or not shutil.which("sshd") and not os.path.exists("/usr/sbin/sshd"):
    pytest.skip("needs root and openssh-server (ci/setup installs it)", allow_module_level=True)

HERE = Path(__file__).parent


@pytest.fixture
def two(tmp_path):
    with Cluster(tmp_path / "cl", ["a", "b"]) as cl:
        yield cl


def _wait_line(proc: subprocess.Popen, text: str, timeout: float = 60) -> list[str]:
    """The coordinator's output up to the first line holding `text`."""
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"no {text!r} in: {''.join(lines)}{proc.stderr.read() if proc.poll() is not None else ''}")


def _node_shell(cl: Cluster, server: str, node: str) -> int:
    """The PID of a lab node's shell on a server (Mininet's `bash ... mininet:RUN-NODE`)."""
    found = [pid for pid, cmd in cl.processes(server).items()
             if cmd.startswith("bash") and cmd.endswith(f"-{node}") and "mininet:" in cmd]
    assert len(found) == 1, cl.processes(server)
    return found[0]


def _clean_everywhere(cl: Cluster, wait: float = 5.0) -> None:
    for name in cl.names:
        assert cl.leftovers(name, wait=wait) == {}, name


def test_a_lab_across_two_servers_runs_green(two, tmp_path):
    art = tmp_path / "art"
    run = two.spawn("run", HERE / "cluster-lost.yaml", "--state-dir", two.state_dir, "--artifacts", art)
    _wait_line(run, "[2/3] wait")
    # mid-run, on server a: r1's eth1 is a VXLAN device, with the planned index, its
    # socket in the server's own namespace, towards b's underlay address
    r1 = _node_shell(two, "a", "r1")
    (eth1,) = json.loads(_in(r1, "ip", "-d", "-j", "link", "show", "dev", "eth1").stdout)
    info = eth1["linkinfo"]["info_data"]
    assert (eth1["ifindex"], eth1["linkinfo"]["info_kind"], info["remote"], info["local"], info["port"]) == (
        3, "vxlan", "10.250.0.12", "10.250.0.11", 4789)
    assert eth1["link_netnsid"] == 0 or "link_netnsid" in eth1  # its underlay is another namespace's
    assert two.links("a") == ["lo", "u0"]  # nothing named in the server's own namespace
    assert "4789" in _in(two.servers["a"].pid, "ss", "-H", "-uln").stdout
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, out + err
    assert "PASSED: 2/2 checks" in out
    _clean_everywhere(two)
    assert not list(two.state_dir.glob("*.json"))
    # what the servers wrote came back: the collector's records (b), each probe's statistics and log
    work = art / "work" / "servers"
    assert (art / "pcap" / "r1-eth1.pcap").stat().st_size > 24  # a capture on server a, brought here
    assert (work / "b" / "collector-ref.jsonl").stat().st_size > 0
    assert json.loads((work / "a" / "probe-p1.1.stats.json").read_text())["records_sent"] >= 2
    assert (work / "b" / "probe-p2.1.log").exists()


def test_a_lab_across_two_servers_checks_interfaces_next_hop_and_masks(two):
    got = two.testbed("run", HERE / "cluster-two.yaml", "--state-dir", two.state_dir)
    assert got.returncode == 0, got.stdout + got.stderr
    assert "PASSED: 7/7 checks" in got.stdout
    assert "in 2 out 3, next hop 10.0.12.2, masks /24 -> /24" in got.stdout  # r1: out into the tunnel
    _clean_everywhere(two)


def test_the_command_line_spreads_an_unchanged_lab_over_three_servers(tmp_path):
    with Cluster(tmp_path / "cl", ["a", "b", "c"]) as cl:
        lab = TOPOLOGIES / "quickstart.yaml"
        explain = cl.testbed("validate", "--explain", lab, "--servers", cl.servers_option(), "--place", "round-robin")
        assert explain.returncode == 0, explain.stderr
        for line in ("node h1 (host, line 27) on server a", "node h2 (host, line 33) on server b",
                     "node r1 (router, line 39) on server c", "node c1 (host, line 45) on server a",
                     "r1:eth1 - h2:eth0 between servers, vxlan"):
            assert line in explain.stdout
        got = cl.testbed("run", lab, "--servers", cl.servers_option(), "--place", "round-robin",
                         "--state-dir", cl.state_dir)
        assert got.returncode == 0, got.stdout + got.stderr
        assert "PASSED: 7/7 checks" in got.stdout
        _clean_everywhere(cl)


def test_a_server_lost_mid_run_fails_it_and_the_others_are_clean(two):
    run = two.spawn("run", HERE / "cluster-lost.yaml", "--state-dir", two.state_dir)
    _wait_line(run, "[2/3] wait")
    assert _node_shell(two, "b", "r2")
    two.underlay("b", "down")
    out, err = run.communicate(timeout=120)
    assert run.returncode == 1, out + err
    assert "FAIL  every server answered until the end" in out
    assert "server b (root@10.250.0.12) became unreachable" in out
    assert two.leftovers("a", wait=5) == {}  # the server that answers: torn down by the run
    # the lost one tears itself down once it misses its coordinator (its agent's watchdog)
    assert two.leftovers("b", wait=30) == {}
    (state,) = two.state_dir.glob("*.json")  # kept for b: `clean` tries again once it answers
    assert list(json.loads(state.read_text())["servers"]) == ["b"]
    two.underlay("b", "up")
    cleaned = two.testbed("clean", "--state-dir", two.state_dir)
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert not list(two.state_dir.glob("*.json"))


def test_clean_cleans_every_server_a_killed_run_names(two):
    run = two.spawn("run", HERE / "cluster-lost.yaml", "--state-dir", two.state_dir)
    _wait_line(run, "[2/3] wait")
    run.kill()  # SIGKILL: no teardown at all
    run.wait()
    for name in two.names:
        assert two.leftovers(name)["processes"], name  # node shells, probes, the agent
    t0 = time.monotonic()
    cleaned = two.testbed("clean", "--state-dir", two.state_dir)
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert "server a:" in cleaned.stdout and "server b:" in cleaned.stdout
    _clean_everywhere(two, wait=2)
    assert time.monotonic() - t0 < 10  # clean did it, not the agents' watchdogs (15 s)
    assert not list(two.state_dir.glob("*.json"))


def test_ctrl_c_mid_build_cleans_every_server(two):
    run = two.spawn("run", TOPOLOGIES / "quickstart.yaml", "--servers", two.servers_option(),
                    "--place", "round-robin", "--state-dir", two.state_dir)
    deadline = time.monotonic() + 60
    while not any("mininet:" in cmd for cmd in two.processes("b").values()):
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.02)
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 130, out + err
    _clean_everywhere(two)
    assert not list(two.state_dir.glob("*.json"))
