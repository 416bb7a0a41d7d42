"""`python -m testbed collect`: the live collector's command line and wiring.

stdout: a '# listening on ADDR:PORT ...' line once the socket is bound (a
parent may wait for it), then one line per record and per notable event,
flushed per datagram, then the summary. Exits 0 on SIGINT, SIGTERM or
--duration.
"""
from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import time

from testbed.collector import jsonl, live, text
from testbed.collector.checks import CheckConfig
from testbed.collector.collector import Collector


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "collect", help="run the reference NetFlow v5 collector",
        description="Receive NetFlow v5 on UDP, print every record, judge sequence and fields.")
    p.add_argument("--listen", required=True, type=_address, metavar="ADDR:PORT",
                   help="IPv4 address and UDP port to bind (port 0: any free port, printed)")
    p.add_argument("--jsonl", metavar="FILE", help="append every datagram, record and the summary as JSON lines")
    p.add_argument("--duration", type=_duration, metavar="S", help="stop after S seconds")
    p.add_argument("--quiet", action="store_true", help="print events and the summary, not each record")
    p.add_argument("--clock-slack-ms", type=int, default=2000, metavar="MS",
                   help="export time may differ this much from receive time (negative: no check)")
    p.add_argument("--uptime-slack-ms", type=int, default=1000, metavar="MS",
                   help="an exporter's boot time may move this much (negative: no check)")
    p.add_argument("--rcvbuf", type=_rcvbuf, default=live.RCVBUF, metavar="BYTES",
                   help=f"socket receive buffer ({MIN_RCVBUF}..{MAX_RCVBUF})")
    p.set_defaults(func=run)
    p.error = lambda message: p.exit(2, f"{p.prog}: error: {message}\n")  # one line, no usage


MIN_RCVBUF, MAX_RCVBUF = 4096, 1 << 30  # the kernel doubles it and keeps it in an int


def _duration(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds < math.inf:  # refuses nan too
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {value!r}")
    return seconds


def _rcvbuf(value: str) -> int:
    if not value.isdigit() or not MIN_RCVBUF <= int(value) <= MAX_RCVBUF:
        raise argparse.ArgumentTypeError(f"expected bytes in {MIN_RCVBUF}..{MAX_RCVBUF}, got {value!r}")
    return int(value)


def _address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected ADDR:PORT, got {value!r}")
    return host, int(port)


class _Log:
    """The --jsonl file. A write error (disk full) does not raise: it is kept,
    and the run stops (what was received so far is summarised on stderr)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.error: str | None = None
        self._f = open(path, "a", encoding="utf-8", buffering=1 << 20)

    def write(self, text: str) -> None:
        if self.error is None:
            try:
                self._f.write(text)
            except OSError as exc:
                self._failed(exc)

    def flush(self) -> None:
        if self.error is None:
            try:
                self._f.flush()
            except OSError as exc:
                self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        self.error = f"collect: --jsonl {self.path}: {exc.strerror or exc}"

    def close(self) -> None:
        try:
            self._f.close()
        except OSError as exc:
            if self.error is None:
                self._failed(exc)


class _Out:
    """stdout that survives a reader going away (the collecting goes on)."""

    def __init__(self):
        self.ok = True

    def write(self, lines: list[str]) -> None:
        if self.ok and lines:
            try:
                sys.stdout.write("\n".join(lines) + "\n")
                sys.stdout.flush()
            except OSError:  # BrokenPipeError and the like
                self.ok = False
                sys.stdout = open(os.devnull, "w")  # so that the exit-time flush cannot fail


def run(args: argparse.Namespace) -> int:
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.append(True))
    config = CheckConfig(None if args.clock_slack_ms < 0 else args.clock_slack_ms,
                         None if args.uptime_slack_ms < 0 else args.uptime_slack_ms)
    collector = Collector(config, keep=False)
    try:
        log = _Log(args.jsonl) if args.jsonl else None
    except OSError as exc:  # a directory, a missing directory, no permission
        print(f"collect: --jsonl {args.jsonl}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        sock = live.open_socket(*args.listen, args.rcvbuf)
    except OSError as exc:  # e.g. the address is not on an interface of this namespace
        print(f"collect: cannot listen on {args.listen[0]}:{args.listen[1]}: {exc}", file=sys.stderr)
        return 2
    listen = "%s:%d" % sock.getsockname()
    out = _Out()
    started = time.time_ns() // 1_000_000
    if log:
        log.write(jsonl.start_line(listen, started, config, rcvbuf=live.rcvbuf_bytes(sock)) + "\n")
        log.flush()
        if log.error:  # /dev/full, a full disk: said before anything is received
            print(log.error, file=sys.stderr)
            sock.close()
            return 2
    out.write([f"# listening on {listen} (rcvbuf {live.rcvbuf_bytes(sock)} bytes), times UTC"])

    def handle(data: bytes, source: tuple[str, int], recv_ms: int) -> None:
        got = collector.receive(data, source, recv_ms)
        if got.malformed:
            lines = [text.malformed_line(got.malformed)]
        else:
            lines = [line] if (line := text.datagram_line(got.datagram)) else []
            if not args.quiet:
                lines += [text.record_line(r) for r in got.records]
        out.write(lines)
        if log:
            log.write("\n".join(jsonl.received_lines(got)) + "\n")

    deadline = None if args.duration is None else time.monotonic() + args.duration
    stopping = (lambda: bool(stop) or log.error is not None) if log else (lambda: bool(stop))
    stats = live.serve(sock, handle, stopping, deadline, idle=lambda: log and log.flush())
    summary = collector.summary()
    rate = int(summary.records / stats.busy_s) if stats.busy_s else None  # what it could keep up with
    facts = {"listen": listen, "elapsed_s": round((time.time_ns() // 1_000_000 - started) / 1000, 3),
             "busy_s": round(stats.busy_s, 6), "records_per_busy_s": rate,
             "rcvbuf": live.rcvbuf_bytes(sock), **live.socket_counters(sock)}
    sock.close()
    if log:
        log.write(jsonl.summary_line(summary, time.time_ns() // 1_000_000, **facts) + "\n")
        log.close()
        if log.error:  # stopped early: the error and what was received, on stderr
            print("\n".join([log.error + "; stopped", *text.summary_lines(summary, facts)]),
                  file=sys.stderr)
            return 1
    out.write(text.summary_lines(summary, facts))
    return 0
