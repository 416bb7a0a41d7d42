"""Running a Launch: files first, ready when capturing, stopped as it says, problems named.

Real processes in this namespace (no network traffic): a Python one-liner that
opens an AF_PACKET socket stands in for a capturing exporter.
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import time

import pytest

from live.nslab import need_root
from testbed.exporters import Launch, Process
from testbed.exporters.process import ExporterError, ExporterProcesses, packet_sockets

pytestmark = pytest.mark.root  # AF_PACKET sockets

# Opens N AF_PACKET sockets (protocol 0: bound to nothing, receives nothing), then waits.
# On SIGTERM it prints what it holds and exits 3.
CAPTURER = ("import signal, socket, sys, time\n"
            "n = int(sys.argv[1]); time.sleep(float(sys.argv[2]))\n"
            "socks = [socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0) for _ in range(n)]\n"
            "signal.signal(signal.SIGTERM, lambda *a: (print('stopping', len(socks), flush=True), sys.exit(3)))\n"
            "while True: time.sleep(1)\n")


def capturer(n: int = 1, delay: float = 0.0, **kw) -> Process:
    return Process((sys.executable, "-c", CAPTURER, str(n), str(delay)), kw.pop("log", "cap.log"),
                   packet_sockets=n, **kw)


@pytest.fixture(autouse=True)
def root():
    need_root()


def test_packet_sockets_are_counted_per_process():
    before = packet_sockets(os.getpid())
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0), socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0):
        assert packet_sockets(os.getpid()) == before + 2
    assert packet_sockets(os.getpid()) == before
    assert packet_sockets(2**22 + 1) == 0  # no such process


def test_start_writes_files_waits_for_capture_and_stops_by_signal(tmp_path):
    launch = Launch(processes=(capturer(2, 0.3),), files={str(tmp_path / "conf" / "a.conf"): "x: 1\n"},
                    clean_exits=frozenset({3}))
    with ExporterProcesses(launch, tmp_path) as ex:
        assert (tmp_path / "conf" / "a.conf").read_text() == "x: 1\n"
        assert packet_sockets(ex.procs[0].pid) == 2  # not before: it sleeps 0.3 s first
    assert ex.stopped.clean and ex.stopped.exits == (3,)
    assert ex.logs() == {"cap.log": "stopping 2\n"}


def test_a_stop_command_is_run_instead_of_the_signal(tmp_path):
    flag = tmp_path / "asked"
    launch = Launch(processes=(capturer(stop_command=("touch", str(flag))),), stop_timeout_s=0.5)
    ex = ExporterProcesses(launch, tmp_path).start()
    stopped = ex.stop()
    assert flag.exists()  # it was asked; it ignored the request, so it was killed
    assert stopped.exits == (-signal.SIGKILL,) and stopped.problems == (
        f"{sys.executable} did not stop within 0.5 s: killed",)


def test_an_unclean_exit_and_an_early_death_are_problems(tmp_path):
    launch = Launch(processes=(capturer(log="a.log"), Process(("sleep", "0.5"), "b.log", packet_sockets=0)))
    ex = ExporterProcesses(launch, tmp_path).start()
    ex.procs[1].wait()
    stopped = ex.stop()
    assert stopped.exits == (3, 0)
    assert stopped.problems[0] == "sleep died before it was stopped: exit 0: (empty log)"
    assert stopped.problems[1].startswith(f"{sys.executable} stopped with exit 3: stopping 1")


def test_a_process_that_exits_at_start_fails_the_start_and_the_others_are_killed(tmp_path):
    launch = Launch(processes=(capturer(), Process(("sh", "-c", "echo no such interface; exit 1"), "b.log")))
    ex = ExporterProcesses(launch, tmp_path)
    with pytest.raises(ExporterError, match=r"sh exited at start \(1\): no such interface"):
        ex.start()
    assert ex.procs[0].returncode == -signal.SIGKILL


def test_a_process_that_never_captures_times_out(tmp_path):
    launch = Launch(processes=(capturer(1, 5),), ready_timeout_s=0.3)
    with pytest.raises(ExporterError, match=r"did not open its 1 capture socket\(s\) within 0.3 s"):
        ExporterProcesses(launch, tmp_path).start()


def test_an_exit_status_says_which_signal_ended_the_process():
    from testbed.exporters.process import status
    assert (status(0), status(3), status(-2), status(-9)) == ("exit 0", "exit 3", "signal SIGINT", "signal SIGKILL")
    assert status(-200) == "signal 200"


def test_stop_commands_share_one_stop_timeout(tmp_path):
    """Three hanging stop commands take the stop timeout once, not three times; then the signal goes."""
    launch = Launch(processes=tuple(capturer(stop_command=("sleep", "30"), log=f"c{i}.log") for i in range(3)),
                    stop_timeout_s=1.0, clean_exits=frozenset({3}))
    ex = ExporterProcesses(launch, tmp_path).start()
    began = time.monotonic()
    ex.request_stop()
    assert time.monotonic() - began < 2.0
    stopped = ex.finish_stop()
    assert stopped.clean and stopped.exits == (3, 3, 3)  # each got the signal when its command ran out


def test_a_launch_that_exits_is_ready_when_done_and_not_asked_to_stop(tmp_path):
    """A replay: it sends and ends by itself. Done before the ready check is ready; the stop
    sends no signal (the one still running finishes its 0.5 s) and judges each exit status."""
    launch = Launch(processes=(Process(("sh", "-c", "exit 0"), "a.log", packet_sockets=0),
                               Process(("sh", "-c", "trap 'exit 7' TERM; sleep 0.5"), "b.log", packet_sockets=0),
                               Process(("sh", "-c", "exit 4"), "c.log", packet_sockets=0)), exits=True)
    ex = ExporterProcesses(launch, tmp_path).start()
    stopped = ex.stop()
    assert stopped.exits == (0, 0, 4)
    assert stopped.problems == ("sh exited with exit 4: (empty log)",)
    never = Launch(processes=(Process(("sleep", "30"), "n.log", packet_sockets=0),), exits=True, stop_timeout_s=0.3)
    assert ExporterProcesses(never, tmp_path).start().stop().problems == ("sleep did not exit within 0.3 s: killed",)


def test_a_process_with_a_ready_line_is_ready_once_its_log_says_it(tmp_path):
    """pmacctd holds its capture sockets before it handles SIGTERM: ready is its plugins'
    line in its log, as many times as it has plugins."""
    says = ("import sys, time\n"
            "time.sleep(0.4); print('x): Exporting flows to a', flush=True)\n"
            "time.sleep(0.4); print('y): Exporting flows to b', flush=True)\n"
            "time.sleep(30)\n")
    launch = Launch(processes=(Process((sys.executable, "-c", says), "r.log", packet_sockets=0,
                                       ready_log="): Exporting flows to ", ready_count=2),), clean_exits={-15})
    began = time.monotonic()
    ex = ExporterProcesses(launch, tmp_path).start()
    assert time.monotonic() - began >= 0.8 and (tmp_path / "r.log").read_text().count("Exporting") == 2
    assert ex.stop().clean
    slow = Launch(processes=(Process(("sleep", "30"), "s.log", packet_sockets=0, ready_log="ready"),),
                  ready_timeout_s=0.3)
    with pytest.raises(ExporterError, match=r"did not open its 0 capture socket\(s\) and log 'ready' within 0.3 s"):
        ExporterProcesses(slow, tmp_path).start()


def test_an_exporter_flooding_its_output_is_read_as_a_bounded_tail(tmp_path):
    """50 MB on stdout: the testbed keeps the last 64 KiB (it used to read it all, per stop)."""
    flood = Process((sys.executable, "-c", "import sys, time\nfor i in range(500_000): print('flood %09d' % i, "
                     "'x' * 88)\nprint('the end', flush=True)\n" + CAPTURER, "1", "0"),
                    "flood.log", packet_sockets=1)
    with ExporterProcesses(Launch(processes=(flood,), clean_exits=frozenset({3})), tmp_path) as ex:
        pass
    assert (tmp_path / "flood.log").stat().st_size > 50_000_000
    (log,) = ex.logs().values()
    assert len(log) < 65 * 1024 and log.startswith("[... ") and log.endswith("the end\nstopping 1\n")
