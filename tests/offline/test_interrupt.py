"""An offline run interrupted (SIGINT, SIGTERM): every flow read so far is
expired and sent, the statistics are printed, exit 0, no traceback."""
from __future__ import annotations

import json
import select
import signal
import socket
import subprocess
import sys
import time

import struct

import pytest

from probe.bench import gen


def listener() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind(("127.0.0.1", 0))
    return s


def records_in(datagrams: list[bytes]) -> list[tuple[int]]:
    """(packets,) of every v5 record (decoded here with struct, not the probe's code)."""
    out = []
    for d in datagrams:
        (count,) = struct.unpack_from("!H", d, 2)
        out += [struct.unpack_from("!I", d, 24 + 48 * i + 16) for i in range(count)]
    return out


@pytest.fixture(scope="module")
def long_capture(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("interrupt") / "long.pcap")
    gen.write(path, packets=60_000, flows=6000, seed=5, duration_s=600)
    return path


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_sends_everything_it_read(long_capture, tmp_path, sig):
    sock = listener()
    stats_path = tmp_path / "stats.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "probe", "-r", long_capture, "-n", "%s:%d" % sock.getsockname(),
         "--export-rate", "300", "--stats-file", str(stats_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    datagrams = []
    try:
        while len(datagrams) < 20:  # it is exporting: well inside the file
            assert select.select([sock], [], [], 10)[0], "no export"
            datagrams.append(sock.recv(65535))
        proc.send_signal(sig)
        end = time.monotonic() + 30
        while proc.poll() is None or select.select([sock], [], [], 0.2)[0]:
            if select.select([sock], [], [], 0.2)[0]:
                datagrams.append(sock.recv(65535))
            assert time.monotonic() < end
        out, err = proc.communicate()
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()
    assert proc.returncode == 0 and "Traceback" not in err and err == "", err
    stats = json.loads(stats_path.read_text())
    assert 0 < stats["packets"] < 60_000  # it stopped reading early
    assert stats["exported"].get("shutdown", 0) > 0 and stats["active_flows"] == 0
    recs = records_in(datagrams)
    assert len(recs) == stats["records_sent"] == stats["flows_created"]
    assert sum(r[0] for r in recs) == stats["packets"] and f"packets: {stats['packets']}" in out
