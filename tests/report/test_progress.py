"""Progress for long work, shown only to a person at a terminal: `python -m probe -r`
(packets, flows, rate, ETA from the file size) and `testbed run` waiting for
timed exports (what it waits for, how long is left)."""
from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest

from probe.bench.gen import write
from probe.engine import Config, Probe
from probe.offline import run_file
from probe.progress import LiveLine, watch
from probe.stats import Stats
from contexts import context
from testbed.run.waits import wait_for_exports
from testbed.topology import load
from testbed.traffic.plan import FlowId, FlowTruth

ROOT = Path(__file__).resolve().parents[2]
ERASE = "\r\033[K"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    """A fake clock: each reading is `step` seconds after the last."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 100.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture(scope="module")
def capture(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("progress") / "c.pcap"
    write(str(path), 20_000, 2_000, seed=7)
    return path


@pytest.fixture(scope="module")
def big_capture(tmp_path_factory) -> Path:
    """Long enough to read for a second or more: the first line comes after 0.25 s."""
    path = tmp_path_factory.mktemp("progress") / "big.pcap"
    write(str(path), 300_000, 30_000, seed=7)
    return path


def test_a_line_is_redrawn_at_most_every_quarter_second_and_erased():
    out, clock = Terminal(), Clock(0.1)
    line = LiveLine(out, clock=clock)
    shown = 0
    for i in range(10):
        if line.due():
            line.show(f"step {i}")
            shown += 1
    assert 3 <= shown <= 4  # 10 readings of a clock going 0.1 s at a time
    line.done()
    assert out.getvalue().startswith("\rstep ") and out.getvalue().endswith(ERASE)
    quiet = Terminal()
    LiveLine(quiet).done()
    assert quiet.getvalue() == ""  # nothing shown, nothing to erase


def test_no_terminal_no_progress_and_the_file_is_untouched(capture):
    f = open(capture, "rb")
    with f:
        assert watch(f, lambda: (0, 0), io.StringIO()) is f


def test_reading_a_capture_shows_percent_packets_flows_rate_and_eta(capture, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    out, stats = Terminal(), Stats()
    f = watch(open(capture, "rb"), lambda: (stats.packets, stats.flows_created), out, clock=Clock(0.3))
    with f:
        probe = run_file(f, lambda start: Probe(Config(), None, start, stats), lambda d: None)
    lines = [x for x in out.getvalue().replace("\033[K", "").split("\r") if x]
    assert probe.stats.packets == 20_000 and len(lines) > 5
    first, last = lines[0], lines[-1]
    assert "%" in first and " packets, " in first and " flows, " in first and "packets/s" in first
    assert any("ETA " in x for x in lines)
    assert int(last.split("%")[0].strip().split(".")[0]) >= 90
    assert out.getvalue().endswith(ERASE)  # closing the file erases the line


def _probe_on(capture: Path, tty: bool) -> str:
    """stderr of `python -m probe -r capture --print`, on a terminal (a pty) or a pipe."""
    # the reference engine: the compiled one reads this file before the first line is due
    argv = [sys.executable, "-m", "probe", "-r", str(capture), "--print", "--engine", "reference"]
    if not tty:
        done = subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
        return done.stderr.decode()
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=slave,
                            env={**os.environ, "COLUMNS": "200"})  # the line is cut to the width
    os.close(slave)
    got = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        got += chunk
    os.close(master)
    assert proc.wait(timeout=120) == 0
    return got.decode(errors="replace")


@pytest.mark.slow
def test_the_probe_shows_progress_on_a_terminal_only(big_capture):
    on_tty, on_pipe = _probe_on(big_capture, True), _probe_on(big_capture, False)
    assert "packets/s" in on_tty and "%  " in on_tty and "\033[K" in on_tty
    assert "packets/s" not in on_pipe and "\r" not in on_pipe and "\033" not in on_pipe
    assert "records_sent: " in on_pipe and "records_sent: " in on_tty  # the summary either way


def test_waiting_for_timed_exports_says_what_and_how_long(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # the line is cut to the terminal's width
    topo = load(ROOT / "tests" / "report" / "labs" / "late-and-lost.yaml")
    check = next(c for c in topo.expect if c.name == "udp-exported-too-early")  # window [0.5, 1.5]
    flow = FlowId("10.0.1.10", "10.0.2.10", 40000, 5000, 17, 0)
    last = time.time() - 1.2  # its deadline: last + 1.5 s + 0.5 s margin, 0.8 s from now
    ctx = context(truth={flow: FlowTruth(flow, "h1", packets=20, first=last - 0.4, last=last)})
    said, out = [], Terminal()
    waited = wait_for_exports([check], ctx, lambda: (lambda c: []), said.append,
                              live=LiveLine(out, every_s=0.1))
    assert 0.5 < waited < 2.0
    assert len(said) == 1 and said[0].startswith("        waiting up to 0.")
    shown = out.getvalue()
    assert "more for udp-exported-too-early (0 of 1 timed checks complete)" in shown
    assert "s more for" in shown and shown.endswith(ERASE)
