"""An exporter that sends at once and one that exits once it has sent: nfdump's nfreplay
replays a stored nfcapd file into the lab's collector. Collectors listen before any
exporter starts (its only datagram left 75 ms before the collector listened, and was
lost); `start: {exits: true}` is a supported shape, its exit status judged."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from labruns import ROOT, run_testbed
from testbed.collector.nfcapd import Nfcapd

sys.path.insert(0, str(ROOT / "tests" / "offline"))
from nfcapd_run import free_udp_port  # noqa: E402

pytestmark = pytest.mark.root
if os.geteuid() != 0:
    pytest.skip("lab runs need root (namespaces, veths)", allow_module_level=True)

HERE = Path(__file__).parent
NFREPLAY = "[nfreplay, -r, FLOWS, -H, '{collector_host}', -p, '{collector_port}', -v, '5']"


@pytest.fixture(scope="module")
def flows_file(tmp_path_factory) -> Path:
    """samples/office.pcap through our probe offline into nfcapd on loopback: 12 flows."""
    folder = tmp_path_factory.mktemp("nfcapd")
    n = Nfcapd("127.0.0.1", free_udp_port(), folder / "flows", log=folder / "nfcapd.log").start()
    try:
        subprocess.run([sys.executable, "-m", "probe", "-r", str(ROOT / "samples/office.pcap"),
                        "-n", f"127.0.0.1:{n.port}"], check=True, capture_output=True, timeout=60)
    finally:
        result = n.stop()
    assert result.totals.flows == 12
    (path,) = (folder / "flows").glob("nfcapd.*")
    return path


def lab(tmp_path: Path, flows: Path, command: str, start: str) -> Path:
    text = (HERE / "replay-exporter.yaml").read_text()
    path = tmp_path / "replay.yaml"
    path.write_text(text.replace("COMMAND", command.replace("FLOWS", str(flows))).replace("START", start))
    return path


def test_an_exporter_that_exits_once_it_has_sent(tmp_path, flows_file):
    done = run_testbed("run", lab(tmp_path, flows_file, NFREPLAY, "start: {exits: true}"), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS  every-record-replayed" in done.stdout and "ran cleanly" not in done.stdout


def test_an_exporter_that_sends_at_once_finds_the_collector_listening(tmp_path, flows_file):
    """No `exits`: nfreplay, then a process that waits to be stopped (SIGTERM ends it)."""
    command = "[sh, -c, 'nfreplay -r FLOWS -H {collector_host} -p {collector_port} -v 5 && exec sleep 600']"
    path = lab(tmp_path, flows_file, command, "start: {packet_sockets: 0}\n    stop: {exits: [SIGTERM]}")
    done = run_testbed("run", path, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS  dns-replayed" in done.stdout


def test_an_exporter_that_exits_badly_or_never_fails_the_run(tmp_path, flows_file):
    bad = NFREPLAY.replace("-v, '5'", "-v, '5', -r, /nonexistent")  # its last -r wins: nothing to read
    done = run_testbed("run", lab(tmp_path, flows_file, bad, "start: {exits: true}"), timeout=120)
    assert done.returncode == 1 and "FAIL  probe p1 ran cleanly" in done.stdout, done.stdout + done.stderr
    assert "nfreplay exited with exit " in done.stdout, done.stdout
    never = "[sh, -c, 'exec sleep 600']"
    done = run_testbed("run", lab(tmp_path, flows_file, never, "start: {exits: true}\n    stop: {timeout: 1}"),
                       timeout=120)
    assert done.returncode == 1 and "sh did not exit within 1 s: killed" in done.stdout, done.stdout + done.stderr
