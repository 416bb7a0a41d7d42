"""What the offline probe is given (testbed/replay/offline.py): the lab
router's routes as `--route` values, the probe's options without live ones,
the replay's frames per way in at their planned times."""
from __future__ import annotations

import io

from testbed.replay.offline import options, route_lines, split_plan
from testbed import pcap

ROUTES = [  # `ip -4 -j route show table all` of a router
    {"dst": "default", "gateway": "10.0.1.9", "dev": "eth0", "flags": []},
    {"dst": "10.0.1.0/24", "dev": "eth0", "protocol": "kernel", "scope": "link", "flags": []},
    {"dst": "10.7.0.0/16", "flags": [], "nexthops": [
        {"gateway": "10.0.2.2", "dev": "eth1", "flags": ["dead"]}, {"gateway": "10.0.1.3", "dev": "eth0", "flags": []}]},
    {"type": "blackhole", "dst": "10.8.0.0/16", "flags": []},
    {"dst": "10.9.0.0/16", "gateway": "10.0.1.7", "dev": "eth0", "metric": 5, "flags": []},
    {"dst": "10.9.0.0/16", "gateway": "10.0.2.8", "dev": "eth1", "metric": 2, "flags": []},
    {"type": "local", "dst": "10.0.1.1", "dev": "eth0", "table": "local", "flags": []},
    {"type": "broadcast", "dst": "10.0.1.255", "dev": "eth0", "table": "local", "flags": []},
    {"dst": "10.6.0.0/16", "dev": "eth1", "table": "default", "flags": []},
]


def test_routes_as_the_offline_probe_takes_them():
    assert route_lines(ROUTES, {"eth0": 2, "eth1": 70}) == [
        "0.0.0.0/0,via=10.0.1.9,dev=2", "10.0.1.0/24,dev=2", "10.7.0.0/16,via=10.0.1.3,dev=2",
        "10.8.0.0/16", "10.9.0.0/16,via=10.0.2.8,dev=70", "10.0.1.1", "10.0.1.255"]


def test_live_only_options_are_left_out():
    argv = ["-i", "eth0", "-i", "eth1", "-n", "10.0.0.1:2055", "--active-timeout", "60",
            "--ifindex", "eth1=7", "--quirk", "uptime-seconds"]
    assert options(argv) == ["--active-timeout", "60", "--quirk", "uptime-seconds"]


def test_the_plan_split_per_way_at_planned_times(tmp_path):
    plan = tmp_path / "plan.pcapng"
    with open(plan, "wb") as f:
        pcap.write_pcapng(f, 1, ["r1:eth0", "r1:eth1", "r2:eth0"],
                          [(0, 0, b"a" * 20), (1_500_000, 1, b"b" * 20), (3_000_000, 0, b"c" * 20),
                           (4_000_000, 2, b"d" * 20)])
    files = split_plan(plan, 100.25, ["r1:eth0", "r1:eth1"], tmp_path)
    assert set(files) == {"r1:eth0", "r1:eth1"}
    path, start_ms = files["r1:eth1"]
    assert start_ms == 100_251
    (c,) = pcap.read(io.BytesIO(path.read_bytes()))
    assert (c.ts_ns, c.data) == (100_251_500_000, b"b" * 20)
    assert [c.data for c in pcap.read(open(files["r1:eth0"][0], "rb"))] == [b"a" * 20, b"c" * 20]
