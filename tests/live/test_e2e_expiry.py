"""End to end on the wire: expiry timing, shutdown, collector outages."""
from __future__ import annotations

import json
import time

from .router import Collector


def _by_sport(records):
    out = {}
    for r in records:
        out.setdefault(r["sport"], []).append(r)
    return out


def test_inactive_fin_and_active_expiry_on_the_wire(rlab, collector, start_probe):
    probe = start_probe([collector.address], "--inactive-timeout", "2", "--active-timeout", "2")
    h = "h1"
    f = lambda sport, **kw: rlab.frame(h, "10.1.1.2", "20.5.5.5", sport=sport, **kw)
    rlab.send(h, [f(1)] * 3)  # inactive flow
    t_inactive = time.time()
    rlab.send(h, [f(2, proto="tcp", flags="S"), f(2, proto="tcp", flags="A"),
                  f(2, proto="tcp", flags="FA")])  # closed by FIN
    t_fin = time.time()
    sent_long = 0
    start = time.monotonic()
    while time.monotonic() - start < 3.3:  # a long flow: a packet every 0.2 s
        rlab.send(h, [f(3)])
        sent_long += 1
        collector.receive(0.2)
    records = collector.receive(1.5, until=lambda r: 1 in _by_sport(r))
    probe.stop()
    flows = _by_sport(collector.receive(2, until=lambda r: sum(
        x["packets"] for x in _by_sport(r).get(3, [])) >= sent_long))

    [inactive] = flows[1]
    assert inactive["packets"] == 3
    assert 2.0 <= inactive["at"] - t_inactive <= 4.0
    [fin] = flows[2]
    assert fin["packets"] == 3 and fin["flags"] & 0x01
    assert fin["at"] - t_fin <= 1.5  # expired at the FIN, sent by the next scan
    long = sorted(flows[3], key=lambda r: r["first"])
    assert len(long) >= 2 and sum(r["packets"] for r in long) == sent_long
    first = long[0]
    # cut by the 2 s active timeout: at a packet (just past 2 s) or a scan (the last
    # packet before it, up to one packet interval earlier)
    assert 1600 <= first["last"] - first["first"] <= 2600
    assert records  # (the inactive record came while the long flow still ran)


def test_sigterm_sends_every_flow_with_exact_totals(rlab, collector, start_probe, tmp_path):
    stats_path = tmp_path / "stats.json"
    probe = start_probe([collector.address], "--inactive-timeout", "60",
                        "--stats-file", str(stats_path))
    frames, octets = [], 0
    for i in range(300):
        f = rlab.frame("h2", "10.2.2.2", f"20.9.{i // 200}.{i % 200}", sport=5000 + i, payload=i)
        frames += [f] * (1 + i % 4)
        octets += (1 + i % 4) * (len(f) - 14)
    rlab.send("h2", frames)
    assert probe.stop() == 0
    records = collector.receive(3, until=lambda r: len(r) >= 300)
    assert len(records) == 300
    assert sum(r["packets"] for r in records) == len(frames)
    assert sum(r["octets"] for r in records) == octets
    stats = json.loads(stats_path.read_text())  # the final statistics as data
    assert (stats["packets"], stats["octets"], stats["records_sent"]) == (len(frames), octets, 300)
    assert stats["exported"] == {"shutdown": 300} and stats["ring_drops"] == 0
    assert stats["ring_packets"] >= len(frames) and "route_refreshes" in stats
    assert "records_sent: 300" in probe.stderr()  # the human summary stays


def test_collector_down_then_back(rlab, start_probe):
    down = Collector(rlab)
    port = down.port
    down.close()  # nothing listens: every datagram draws an ICMP port unreachable
    probe = start_probe([f"10.9.9.2:{port}"], "--inactive-timeout", "60")
    f = lambda i: rlab.frame("h1", "10.1.1.2", "20.5.5.5", sport=6000 + i)
    for i in range(3):
        rlab.send("h1", [f(i)])
        time.sleep(0.02)
        probe.ctl("flush")
    time.sleep(0.2)  # the last ICMP comes back while the probe idles: read on POLLERR
    stats = probe.ctl("stats")["stats"]
    assert (stats["send_errors"], stats["send_lost"]) == (3, 3) and probe.proc.poll() is None
    assert stats["collectors"][f"10.9.9.2:{port}"]["refused"] == 3
    back = Collector(rlab, port)
    try:
        rlab.send("h1", [f(10), f(11)])
        time.sleep(0.02)
        probe.ctl("flush")
        got = back.receive(2, until=lambda r: len(r) >= 2)
        assert sorted(r["sport"] for r in got) == [6010, 6011]
    finally:
        back.close()
