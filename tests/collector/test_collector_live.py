"""The live collector as a subprocess on loopback, as the testbed runs it."""
from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from nfv5_build import datagram, record
from testbed.collector import load_jsonl, mnexec_prefix, start_collector


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def stream() -> list[bytes]:
    t = now_ms()
    return [datagram(3, seq=0, uptime=50_000, unix_ms=t),
            datagram([record(proto=6, tcp_flags=0x12, sport=80, dport=40000, first=49_000, last=50_500)],
                     seq=3, uptime=51_000, unix_ms=t + 1000),
            b"\x00\x05\x00\x00",
            datagram(2, seq=10, uptime=52_000, unix_ms=t + 2000)]  # 6 records missing


def send(port: int, data: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for d in data:
            s.sendto(d, ("127.0.0.1", port))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_collect_subcommand_prints_records_and_summary_and_exits_0_on_a_signal(tmp_path, sig):
    out, err = tmp_path / "collector.jsonl", tmp_path / "stderr"
    with open(err, "w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "testbed", "collect", "--listen", "127.0.0.1:0",
                                 "--jsonl", str(out)], stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        first = proc.stdout.readline()  # flushed at once: the parent sees it through the pipe
        assert first.startswith("# listening on 127.0.0.1:"), first + err.read_text()
        port = int(first.split()[3].rpartition(":")[2])
        send(port, stream())
        lines = [proc.stdout.readline() for _ in range(6)]  # 4 records + 2 events, as they arrive
        proc.send_signal(sig)
        guard = threading.Timer(10, proc.kill)  # read() below must not hang the suite
        guard.start()
        rest = proc.stdout.read()  # (not communicate(): it would skip what readline() buffered)
        guard.cancel()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert proc.returncode == 0, err.read_text()
    printed = "".join(lines)
    assert ("TCP  10.0.1.1:80 -> 10.0.2.1:40000 if 1->2 nh 10.0.9.1 mask /24->/16 ...A..S. tos 0 "
            "3 pkts 300 B") in printed
    assert "MALFORMED from 127.0.0.1" in printed and "too-short" in printed
    assert "GAP, 6 records missing" in rest
    assert "Summary: 6 records in 3 datagrams from 1 exporter(s), 1 malformed, 6 records lost" in rest
    result = load_jsonl(out)
    assert result.complete and len(result.records) == 6 and len(result.malformed) == 1
    assert result.exporter_report("127.0.0.1").records_lost == 6
    assert (result.live["socket_drops"], result.live["unread_bytes"]) == (0, 0)
    assert result.live["rcvbuf"] >= 16 << 20
    assert all(abs(r.recv_ms - now_ms()) < 60_000 for r in result.records)


def test_library_api_starts_and_stops_a_collector(tmp_path):
    with start_collector("127.0.0.1:0", tmp_path / "c.jsonl", args=["--quiet"]) as c:
        send(c.listen[1], stream())
    result = c.result
    assert len(result.find(proto=6)) == 1 and result.summary.malformed == {"too-short": 1}
    assert "Summary:" in c.output() and "pkts" not in c.output()  # --quiet: no record lines


def test_an_address_not_on_this_host_is_a_clear_error():
    done = subprocess.run([sys.executable, "-m", "testbed", "collect", "--listen", "192.0.2.1:2055"],
                          capture_output=True, text=True, timeout=20)
    assert done.returncode == 2 and "cannot listen on 192.0.2.1:2055" in done.stderr


def test_duration_ends_the_run_with_exit_0(tmp_path):
    done = subprocess.run([sys.executable, "-m", "testbed", "collect", "--listen", "127.0.0.1:0",
                           "--duration", "0.3"], capture_output=True, text=True, timeout=20)
    assert done.returncode == 0 and "Summary: 0 records in 0 datagrams" in done.stdout


@pytest.mark.root
@pytest.mark.skipif(not shutil.which("mnexec") or os.geteuid() != 0, reason="needs root and Mininet's mnexec")
def test_collector_runs_inside_another_network_namespace(tmp_path):
    """As in a lab host: `mnexec -a PID` puts it in that process's namespaces."""
    host = subprocess.Popen(["unshare", "-n", "sh", "-c", "ip link set lo up && echo up && exec sleep 60"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert host.stdout.readline() == "up\n"
        with start_collector("127.0.0.1:0", tmp_path / "c.jsonl", prefix=mnexec_prefix(host.pid)) as c:
            # its port is in that namespace: the sender must be there too
            code = f"import socket; socket.socket(2, 2).sendto({datagram(2)!r}, ('127.0.0.1', {c.listen[1]}))"
            subprocess.run([*mnexec_prefix(host.pid), sys.executable, "-c", code], check=True, timeout=10)
    finally:
        host.kill()
        host.wait()
        host.stdout.close()
    assert len(c.result.records) == 2 and c.result.live["socket_drops"] == 0


# -- bad options and failing output: one line, exit 2; a write error mid-run stops cleanly ----

def collect(*argv: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "testbed", "collect", "--listen", "127.0.0.1:0", *argv],
                          capture_output=True, text=True, timeout=20, **kw)


@pytest.mark.parametrize("argv", [
    ["--jsonl", "{tmp}"], ["--jsonl", "{tmp}/missing/c.jsonl"], ["--jsonl", "/dev/full"],
    ["--rcvbuf", "99999999999"], ["--rcvbuf", "-1"], ["--rcvbuf", "0"],
    ["--duration", "nan"], ["--duration", "-1"], ["--duration", "inf"], ["--duration", "soon"],
], ids=" ".join)
def test_bad_options_are_one_line_and_exit_2(tmp_path, argv):
    done = collect(*(a.format(tmp=tmp_path) for a in argv))
    assert done.returncode == 2 and done.stdout == "", done.stdout
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr


def _ready(proc) -> int:
    first = proc.stdout.readline()
    assert first.startswith("# listening on 127.0.0.1:"), first
    return int(first.split()[3].rpartition(":")[2])


def test_a_disk_that_fills_mid_run_stops_it_cleanly_with_the_summary(tmp_path):
    """The --jsonl file may not grow past 64 KiB (RLIMIT_FSIZE, as a full disk): write error."""
    def small_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead

    out = tmp_path / "c.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "testbed", "collect", "--listen", "127.0.0.1:0", "--quiet",
                             "--jsonl", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=small_disk)
    try:
        port = _ready(proc)
        for seq in range(0, 3000, 30):  # ~1 MB of JSON lines
            send(port, [datagram(30, seq=seq, uptime=50_000, unix_ms=now_ms())])
            if proc.poll() is not None:
                break
            time.sleep(0.002)
        assert proc.wait(timeout=10) == 1  # it stopped by itself
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close(), proc.stderr.close()
    lines = err.splitlines()
    assert lines[0] == f"collect: --jsonl {out}: File too large; stopped", err
    assert lines[1].startswith("Summary: ") and "Traceback" not in err


def test_datagrams_dropped_by_the_socket_are_in_the_headline(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "testbed", "collect", "--listen", "127.0.0.1:0", "--quiet",
                             "--rcvbuf", "4096"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = _ready(proc)
        proc.send_signal(signal.SIGSTOP)  # it cannot read: its small buffer overflows
        send(port, [datagram(30, seq=30 * i, uptime=50_000, unix_ms=now_ms()) for i in range(200)])
        proc.send_signal(signal.SIGCONT)
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    head = next(line for line in out.splitlines() if line.startswith("Summary: "))
    assert "datagrams LOST AT THIS COLLECTOR (socket drops)" in head and " 0 records lost" not in head, head
