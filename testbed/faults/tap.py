"""The export tap: a UDP relay between a probe and a collector, in the probe's router.

    python -m testbed.faults.tap --listen X:PORT --to C:P --log FILE

The run points the probe at the tap (X is the router's own address towards
the collector, so the probe always has a route to it); the tap passes each
datagram through the Impairer and sends what comes out to C:P from address
X, so the collector sees the probe's address as the exporter. Policies
arrive on stdin (one JSON object a line: drop, duplicate, reorder, delay_ms,
seed); every datagram's fate goes to the log file as a JSON line, and so
does every datagram that could not be sent (no route: a link is down).
SIGTERM or the end of stdin: what is held or delayed is sent, then it exits 0.
"""
from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import socket
import struct
import sys
import time

from .impair import Impairer, Policy

MAX_DATAGRAM = 65535


class _Stopped(Exception):
    pass


def _stop(signum, frame):
    raise _Stopped  # wakes the loop from select()


def _hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


class Tap:
    def __init__(self, listen: tuple[str, int], to: tuple[str, int], log) -> None:
        self.to, self.log = to, log
        self.rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
        self.rx.bind(listen)
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tx.bind((listen[0], 0))  # the probe's address: the collector sees it as the exporter
        self.impairer = Impairer()
        self.stopping = False

    def serve(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.rx, selectors.EVENT_READ, "rx")
        sel.register(sys.stdin, selectors.EVENT_READ, "ctl")
        signal.signal(signal.SIGTERM, _stop)
        print("ready", flush=True)
        try:
            while not self.stopping:
                due = self.impairer.next_timer()
                timeout = None if due is None else max(0.0, due - time.time())
                for key, _ in sel.select(timeout):
                    if key.data == "rx":
                        self._receive()
                    elif not self._control(sys.stdin.readline()):
                        self.stopping = True
                self._send(self.impairer.due(time.time()))
        except _Stopped:
            pass
        self._receive()  # what the probe sent before the end
        self._send(self.impairer.flush())

    def _receive(self) -> None:
        while True:
            try:
                data = self.rx.recv(MAX_DATAGRAM, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            self.impairer.receive(data, time.time())

    def _control(self, line: str) -> bool:
        if not line:
            return False
        try:
            self.impairer.set_policy(Policy(**json.loads(line)))
            print("ok", flush=True)
        except (ValueError, TypeError) as exc:
            print(f"error: {exc}", flush=True)
        return True

    def _send(self, datagrams: list[bytes]) -> None:
        for entry in self.impairer.take_log():
            self.log.write(json.dumps(entry) + "\n")
        for data in datagrams:
            try:
                self.tx.sendto(data, self.to)
            except OSError as exc:  # no route (a link is down): it did not leave
                uptime, seq = struct.unpack_from("!I8xI", data, 4) if len(data) >= 20 else (None, None)
                self.log.write(json.dumps({"t": time.time(), "seq": seq, "uptime": uptime,
                                           "action": "unsent", "error": exc.strerror}) + "\n")
        self.log.flush()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m testbed.faults.tap")
    p.add_argument("--listen", type=_hostport, required=True)
    p.add_argument("--to", type=_hostport, required=True)
    p.add_argument("--log", required=True)
    args = p.parse_args(argv)
    with open(args.log, "a") as log:
        Tap(args.listen, args.to, log).serve()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
