"""Control socket protocol: JSON lines, root only (0600), clear client errors."""
from __future__ import annotations

import os
import select
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from probe.live import control, ctl
from probe.live.control import ControlError, ControlServer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(tmp_path):
    calls = []

    def handler(req):
        calls.append(req)
        if req["cmd"] == "stats":
            return {"stats": {"packets": 3, "exported": {"inactive": 2},
                              "collectors": {"10.0.0.9:2055": {"datagrams_sent": 4, "refused": 1}}}}
        if req["cmd"] == "timeouts":
            return {"active_s": req["active"] or 1800, "inactive_s": req["inactive"] or 15}
        if req["cmd"] == "flush":
            return {"flushed": 4, "datagrams": 1}
        if req["cmd"] == "show":
            return {"total": 1, "flows": [dict(
                src="10.0.0.1", dst="10.0.0.2", sport=1, dport=2, proto=17, tos=0, in_ifindex=2,
                out_ifindex=3, next_hop="0.0.0.0", src_mask=24, dst_mask=24, packets=5, octets=500,
                tcp_flags=0, age_ms=1500, idle_ms=200)]}
        raise ControlError(f"unknown command {req['cmd']!r}")

    path = str(tmp_path / "ctl.sock")
    srv = ControlServer(path, handler)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            if select.select([srv], [], [], 0.05)[0]:
                srv.handle_ready()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    yield path, calls
    stop.set()
    t.join()
    srv.close()


def test_socket_is_root_only(server):
    path, _ = server
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_requests_and_replies(server, capsys):
    path, calls = server
    assert ctl.request(path, {"cmd": "stats"})["stats"]["exported"] == {"inactive": 2}
    assert ctl.main([path, "stats"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        "       exported: inactive=2", "     collectors: 10.0.0.9:2055: datagrams_sent=4, refused=1"]
    assert ctl.main([path, "timeouts", "--active", "60", "--inactive", "2"]) == 0
    assert calls[-1] == {"cmd": "timeouts", "active": 60.0, "inactive": 2.0}
    assert capsys.readouterr().out == "active 60 s, inactive 2 s\n"
    assert ctl.main([path, "show"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["SrcIf", "SrcIPaddress", "DstIf", "DstIPaddress"]
    assert out[1].split()[:8] == ["2", "10.0.0.1", "3", "10.0.0.2", "17", "1", "2", "5"]
    assert out[-1] == "1 flows"
    assert ctl.main([path, "flush"]) == 0
    assert "flushed 4 flows" in capsys.readouterr().out
    assert ctl.main([path, "--json", "stats"]) == 0
    assert '"packets": 3' in capsys.readouterr().out


def test_bad_requests_get_errors_not_a_dead_probe(server):
    path, _ = server
    for raw in (b"not json\n", b"[1]\n", b'{"cmd": "reboot"}\n'):
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        s.sendall(raw)
        reply = s.makefile().readline()
        s.close()
        assert '"ok":false' in reply
    assert ctl.request(path, {"cmd": "stats"})["ok"]


def test_missing_socket_and_gone_probe_are_exit_2_one_line(tmp_path, capsys):
    missing = str(tmp_path / "nothing.sock")
    assert ctl.main([missing, "stats"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no control socket" in err
    stale = str(tmp_path / "stale.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(stale)
    s.close()  # the file stays, nobody listens: a probe that died
    assert ctl.main([stale, "stats"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "gone" in err


def test_stale_socket_is_replaced_live_one_is_not(tmp_path, server):
    stale = str(tmp_path / "stale.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(stale)
    s.close()
    ControlServer(stale, lambda req: {}).close()  # took over the dead probe's path
    assert not os.path.exists(stale)  # and removed it on close
    with pytest.raises(ControlError, match="another probe"):
        ControlServer(server[0], lambda req: {})


# -- the loop never waits for a client ------------------------------------------

def _serve(srv, seconds):
    """Run the server's side of the loop for `seconds`; returns the longest handle_ready()."""
    longest, end = 0.0, time.monotonic() + seconds
    while time.monotonic() < end:
        select.select([srv], [], [], 0.01)
        t = time.perf_counter()
        srv.handle_ready()
        longest = max(longest, time.perf_counter() - t)
    return longest


def _connect(path):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    return s


def test_idle_trickling_and_slow_readers_never_hold_the_loop(tmp_path, monkeypatch):
    monkeypatch.setattr(control, "CLIENT_S", 0.5)
    produced = []

    def handler(req):
        def flows():
            for i in range(100_000):
                produced.append(i)
                yield {"n": i, "pad": "x" * 100}
        return {"total": 100_000, "flows": flows()}

    srv = ControlServer(str(tmp_path / "c.sock"), handler)
    try:
        idle = [_connect(srv.path) for _ in range(5)]
        trickler, reader = _connect(srv.path), _connect(srv.path)
        reader.sendall(b'{"cmd": "show"}\n')  # ... and never reads its 10 MB reply
        longest = 0.0
        for _ in range(4):
            trickler.send(b"{")
            longest = max(longest, _serve(srv, 0.1))
        assert longest < 0.05  # each call did only what needed no waiting
        assert 0 < len(produced) < 100_000  # the reply is encoded as it is read, not at once
        _serve(srv, 0.3)
        assert srv.next_deadline() is None  # all cut off after CLIENT_S
        for s in (*idle, trickler):
            assert s.recv(100) == b""
            s.close()
        reader.close()
    finally:
        srv.close()


def test_a_streamed_reply_is_one_json_line(tmp_path):
    srv = ControlServer(str(tmp_path / "c.sock"), lambda req: {
        "total": 3000, "flows": ({"n": i} for i in range(3000))})
    stop = threading.Event()
    t = threading.Thread(target=lambda: [_serve(srv, 0.05) for _ in iter(stop.is_set, True)])
    t.start()
    try:
        reply = ctl.request(srv.path, {"cmd": "show"})
        assert reply["ok"] and reply["total"] == 3000 and [f["n"] for f in reply["flows"]] == list(range(3000))
    finally:
        stop.set(), t.join(), srv.close()


def test_too_many_clients_are_told_busy(tmp_path):
    srv = ControlServer(str(tmp_path / "c.sock"), lambda req: {})
    try:
        clients = [_connect(srv.path) for _ in range(control.MAX_CLIENTS)]
        _serve(srv, 0.05)
        extra = _connect(srv.path)
        _serve(srv, 0.05)
        assert b"busy" in extra.recv(200)
        for s in (*clients, extra):
            s.close()
    finally:
        srv.close()


@pytest.mark.parametrize("raw, why", [
    (b"x" * (control.MAX_REQUEST + 10), "longer than"),
    (b"[" * 60_000 + b"\n", "bad request"),
    (b"\xff\xfe\n", "bad request"),
])
def test_hostile_requests_get_one_error_line(tmp_path, raw, why):
    srv = ControlServer(str(tmp_path / "c.sock"), lambda req: {})
    try:
        s = _connect(srv.path)
        s.sendall(raw)
        _serve(srv, 0.1)
        reply = s.makefile("rb").readline()
        assert b'"ok":false' in reply and why.encode() in reply
        s.close()
    finally:
        srv.close()


def test_ctl_on_a_directory_or_a_path_too_long_is_one_clear_line(tmp_path, capsys):
    assert ctl.main([str(tmp_path), "stats"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a control socket" in err
    long = str(tmp_path / ("x" * 120))
    assert ctl.main([long, "stats"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "too long for a Unix socket path" in err
    with pytest.raises(ControlError, match="path too long"):
        ControlServer(long, lambda req: {})


@pytest.mark.parametrize("option, value", [("--inactive", "1e308"), ("--active", "1e9"),
                                           ("--active", "0"), ("--inactive", "nan"), ("--active", "0.0004")])
def test_ctl_timeouts_have_the_limits_of_the_command_line(tmp_path, capsys, option, value):
    with pytest.raises(SystemExit) as exit:
        ctl.main([str(tmp_path / "p.sock"), "timeouts", option, value])
    err = capsys.readouterr().err
    assert exit.value.code == 2 and err.count("\n") == 1 and "expected seconds in [0.001, 4294967]" in err


class Foreign:
    """Another program's Unix socket: it reads one line and answers `reply` (then closes)."""

    def __init__(self, path: str, reply: bytes) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.reply = reply
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.makefile("rb").readline()
                conn.sendall(self.reply)

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join()


@pytest.mark.parametrize("cmd, reply, why", [
    ("stats", b"HTTP/1.0 400 Bad Request\r\n\r\n", "not a probe's reply (is it another program's socket?)"),
    ("stats", b"[1, 2]\n", "not a probe's reply (a JSON object with \"ok\")"),
    ("stats", b'{"ok": "yes"}\n', "not a probe's reply"),
    ("stats", b'{"ok": true, "stats": [1, 2]}\n', "answered stats with a reply of the wrong shape"),
    ("show", b'{"ok": true, "flows": [{"src": 1}], "total": 1}\n', "answered show with a reply of the wrong shape"),
    ("flush", b'{"ok": true}\n', "answered flush with a reply of the wrong shape"),
    ("stats", b'{"ok": true, "stats": {"packets": ', "stopped in the middle of its answer"),
    ("stats", b"\xff\xfe\n", "not a probe's reply"),
])
def test_ctl_on_another_programs_socket_is_one_line_not_a_traceback(tmp_path, capsys, cmd, reply, why):
    foreign = Foreign(str(tmp_path / "other.sock"), reply)
    try:
        assert ctl.main([str(tmp_path / "other.sock"), cmd]) == 2
    finally:
        foreign.close()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and why in err, err


def test_control_characters_from_the_wire_never_reach_the_terminal(tmp_path, capsys):
    hostile = '{"ok": false, "error": "\\u001b]0;pwned\\u0007\\u009b2J"}\n'.encode()
    foreign = Foreign(str(tmp_path / "other.sock"), hostile)
    try:
        assert ctl.main([str(tmp_path / "other.sock"), "stats"]) == 1
    finally:
        foreign.close()
    err = capsys.readouterr().err
    assert err == "probe ctl: \\x1b]0;pwned\\x07\\x9b2J\n"


def test_a_reader_that_stops_early_ends_it_quietly(tmp_path):
    flow = dict(src="10.0.0.1", dst="10.0.0.2", sport=1, dport=2, proto=17, tos=0, in_ifindex=2, out_ifindex=3,
                next_hop="0.0.0.0", src_mask=24, dst_mask=24, packets=5, octets=500, tcp_flags=0, age_ms=1500,
                idle_ms=200)
    srv = ControlServer(str(tmp_path / "c.sock"), lambda req: {"total": 20000, "flows": iter([flow] * 20000)})
    try:
        reader = subprocess.Popen(f"{sys.executable} -m probe ctl {srv.path} show | head -1", shell=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
        while reader.poll() is None:
            _serve(srv, 0.05)
        done = subprocess.CompletedProcess(reader.args, reader.returncode, *reader.communicate())
    finally:
        srv.close()
    assert done.stdout.split()[:2] == ["SrcIf", "SrcIPaddress"] and done.stderr == "", done.stderr
