"""A pytest file of YOUR repository using netflow-lab's `netflow_lab` fixture (registered
by the installed package): the lab is built for the test and torn down after it."""


def test_udp_is_counted(netflow_lab):
    lab = netflow_lab("labs/quickstart.yaml")  # relative to the pytest root: your repository
    lab.run_step({"kind": "udp", "from": "h1", "to": "h2", "dport": 5000, "packets": 10})
    (rec,) = lab.records(dport=5000)  # flushes the probe, waits for the collector
    assert rec.packets == 10 and rec.input == lab.ifindex("r1:eth0")
    lab.assert_passed([{"name": "counted", "kind": "conservation"}])
