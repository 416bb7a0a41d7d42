"""`python -m probe ctl PATH ...` against a running live probe."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

from probe.live import ctl


def _ctl(probe, *args):
    return subprocess.run([sys.executable, "-m", "probe", "ctl", probe.control, *args],
                          capture_output=True, text=True, timeout=10)


def test_show_timeouts_stats_flush(rlab, collector, start_probe):
    probe = start_probe([collector.address], "--inactive-timeout", "60")
    rlab.send("h1", [rlab.frame("h1", "10.1.1.2", "20.5.5.5", sport=8001)] * 4)
    time.sleep(0.05)
    show = _ctl(probe, "show")
    assert show.returncode == 0, show.stderr
    [row] = [line.split() for line in show.stdout.splitlines() if "20.5.5.5" in line]
    r1, r2 = rlab.exported[rlab.rif["h1"]], rlab.exported[rlab.rif["h2"]]
    assert row[:8] == [str(r1), "10.1.1.2", str(r2), "20.5.5.5", "17", "8001", "2000", "4"]
    assert row[10:13] == ["10.2.2.2", "24", "8"]  # next hop, src mask, dst mask

    t0 = time.time()
    assert _ctl(probe, "timeouts", "--inactive", "1").stdout.strip() == "active 1800 s, inactive 1 s"
    [rec] = collector.receive(4, until=len)
    assert rec["packets"] == 4 and time.time() - t0 < 3  # the new timeout applied at once

    rlab.send("h1", [rlab.frame("h1", "10.1.1.2", "20.5.5.5", sport=8002)])
    time.sleep(0.05)
    flush = _ctl(probe, "flush")
    assert flush.returncode == 0 and flush.stdout.startswith("flushed 1 flows")
    assert [r["sport"] for r in collector.receive(2, until=lambda r: len(r) >= 2)] == [8001, 8002]

    for bad in ({"active": 1e9}, {"inactive": 1e308}, {"inactive": "soon"}):  # as the CLI's limits
        reply = ctl.request(probe.control, {"cmd": "timeouts", **bad})
        assert not reply["ok"] and reply["error"].startswith("timeouts: expected seconds"), reply

    stats = _ctl(probe, "stats").stdout
    for name in ("ring_drops: 0", "packets: 5", "send_errors: 0", "records_sent: 2"):
        assert name in stats, stats
    probe.stop()
    gone = _ctl(probe, "stats")
    assert gone.returncode == 2 and gone.stderr.count("\n") == 1 and "no control socket" in gone.stderr


def test_idle_and_trickling_clients_never_stall_capture(rlab, collector, start_probe):
    """8 clients that connect and say nothing, one that sends a byte every 0.3 s:
    during 5.6 s of sparse traffic (each packet its own ring block) the probe
    captures everything and exports each flow on time."""
    probe = start_probe([collector.address], "--inactive-timeout", "1")
    idle = [socket.socket(socket.AF_UNIX) for _ in range(8)]
    for s in idle:
        s.connect(probe.control)
    stop = threading.Event()

    def trickle():
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(probe.control)
            try:
                while not stop.wait(0.3):
                    s.send(b" ")
            except OSError:
                pass  # cut off by the probe: fine

    t = threading.Thread(target=trickle)
    t.start()
    last = {}
    try:
        for i in range(280):
            sport = 9000 + i // 10
            rlab.send("h1", [rlab.frame("h1", "10.1.1.2", "20.5.5.5", sport=sport)])
            last[sport] = time.time()
            collector.receive(0.02)  # (reading as they come: `at` is when it was read)
        records = collector.receive(6, until=lambda r: len(r) >= 28)
        stats = probe.ctl("stats")["stats"]
    finally:
        stop.set()
        t.join()
        for s in idle:
            s.close()
    assert stats["ring_drops"] == 0 and stats["packets"] == 280
    assert sorted(r["sport"] for r in records) == sorted(last) and sum(r["packets"] for r in records) == 280
    late = {r["sport"]: round(r["at"] - last[r["sport"]], 2) for r in records}
    assert max(late.values()) < 2.5, late  # inactive 1 s + a scan + slack


def test_requests_at_the_edges_are_answered_not_internal_errors(rlab, collector, start_probe):
    probe = start_probe([collector.address])
    for bad, error in (({"active": 0.0004}, "expected seconds in [0.001, 4294967], got 0.0004"),  # rounds to 0 ms
                       ({"inactive": True}, "expected seconds, got True")):  # not 1 s
        assert ctl.request(probe.control, {"cmd": "timeouts", **bad}) == {"ok": False, "error": f"timeouts: {error}"}
    assert ctl.request(probe.control, {"cmd": "timeouts", "active": 0.001})["active_s"] == 0.001
    reply = ctl.request(probe.control, {"cmd": "show", "limit": 10**23})
    assert reply["ok"] and reply["total"] == 0, reply
    assert probe.stop() == 0


def test_a_stats_file_whose_directory_went_is_one_line_and_exit_1(rlab, collector, start_probe, tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    probe = start_probe([collector.address], "--stats-file", str(gone / "stats.json"))
    gone.rmdir()
    assert probe.stop() == 1
    err = probe.stderr()
    assert "Traceback" not in err and f"probe: --stats-file {gone / 'stats.json'}: not written: " \
        "No such file or directory" in err, err
