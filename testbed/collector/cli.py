"""`python -m testbed collect`: the collector's command line and wiring, live on
a UDP socket or over a capture file (`--read`): the same records, lines and
verdicts either way, the receive time being the packet's capture time.

stdout: a '# listening on ADDR:PORT ...' line once the socket is bound (a
parent may wait for it) or '# reading FILE', then one line per record and per
notable event, flushed per datagram, then the summary. Live, it exits 0 on
SIGINT, SIGTERM or --duration; reading, at the end of the file (2 if it
cannot be read).
"""
from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import time

from testbed.collector import jsonl, live, text
from testbed.collector.capture import Reader
from testbed.collector.checks import CheckConfig
from testbed.collector.collector import Collector, Received
from testbed.pcap import CaptureError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "collect", help="run the reference NetFlow v5/v9/IPFIX collector (live, or on a capture)",
        description="Receive NetFlow v5, v9 and IPFIX on UDP (or read them from a capture), print every "
                    "record, judge sequence, templates and fields.")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--listen", type=_address, metavar="ADDR:PORT",
                       help="IPv4 address and UDP port to bind (port 0: any free port, printed)")
    where.add_argument("--read", metavar="CAPTURE", help="a pcap or pcapng file of export datagrams")
    p.add_argument("--port", type=_port, action="append", metavar="N",
                   help="with --read: only UDP to this port (again for more); default: any UDP that "
                        "starts like NetFlow v5, v9 or IPFIX")
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


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise argparse.ArgumentTypeError(f"expected a UDP port 1..65535, got {value!r}")
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
    if args.port and not args.read:
        print("collect: --port goes with --read (live, the collector hears its own port)", file=sys.stderr)
        return 2
    config = CheckConfig(None if args.clock_slack_ms < 0 else args.clock_slack_ms,
                         None if args.uptime_slack_ms < 0 else args.uptime_slack_ms)
    collector = Collector(config, keep=False)
    try:
        log = _Log(args.jsonl) if args.jsonl else None
    except OSError as exc:  # a directory, a missing directory, no permission
        print(f"collect: --jsonl {args.jsonl}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    out = _Out()

    def handle(data: bytes, source: tuple[str, int], recv_ms: int, number: int | None = None) -> None:
        got = collector.receive(data, source, recv_ms, number)
        out.write(_lines(got, args.quiet))
        if log:
            log.write("\n".join(jsonl.received_lines(got)) + "\n")

    if args.read:
        return _read(args, collector, config, log, out, handle)
    return _live(args, collector, config, log, out, handle)


def _lines(got: Received, quiet: bool) -> list[str]:
    lines = [text.undecoded_line(u) for u in got.undecoded]
    if got.malformed:
        return lines + [text.malformed_line(got.malformed)]
    lines += [line] if (line := text.datagram_line(got.datagram)) else []
    lines += [line for t in got.templates if (line := text.template_line(t))]
    lines += [text.options_line(o) for o in got.options]
    if not quiet:
        lines += [text.record_line(r) for r in got.records]
    return lines


def _start(log, out, where: str, started: int, config, first_line: str, **facts) -> bool:
    if log:
        log.write(jsonl.start_line(where, started, config, **facts) + "\n")
        log.flush()
        if log.error:  # /dev/full, a full disk: said before anything is received
            print(log.error, file=sys.stderr)
            return False
    out.write([first_line])
    return True


def _end(collector: Collector, log, out, now_ms: int, facts: dict) -> int:
    """The run's end: held data sets given up, the summary everywhere."""
    gave_up = collector.finish(now_ms)
    out.write([text.undecoded_line(u) for u in gave_up])
    summary = collector.summary()
    if log:
        log.write("".join(line + "\n" for line in jsonl.final_lines(gave_up)))
        log.write(jsonl.summary_line(summary, time.time_ns() // 1_000_000, **facts) + "\n")
        log.close()
        if log.error:  # stopped early: the error and what was received, on stderr
            print("\n".join([log.error + "; stopped", *text.summary_lines(summary, facts)]), file=sys.stderr)
            return 1
    out.write(text.summary_lines(summary, facts))
    return 0


def _live(args, collector, config, log, out, handle) -> int:
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.append(True))
    try:
        sock = live.open_socket(*args.listen, args.rcvbuf)
    except OSError as exc:  # e.g. the address is not on an interface of this namespace
        print(f"collect: cannot listen on {args.listen[0]}:{args.listen[1]}: {exc}", file=sys.stderr)
        return 2
    listen = "%s:%d" % sock.getsockname()
    started = time.time_ns() // 1_000_000
    if not _start(log, out, listen, started, config,
                  f"# listening on {listen} (rcvbuf {live.rcvbuf_bytes(sock)} bytes), times UTC",
                  rcvbuf=live.rcvbuf_bytes(sock)):
        sock.close()
        return 2
    deadline = None if args.duration is None else time.monotonic() + args.duration
    stopping = (lambda: bool(stop) or log.error is not None) if log else (lambda: bool(stop))
    stats = live.serve(sock, handle, stopping, deadline, idle=lambda: log and log.flush())
    summary = collector.summary()
    rate = int(summary.records / stats.busy_s) if stats.busy_s else None  # what it could keep up with
    facts = {"listen": listen, "elapsed_s": round((time.time_ns() // 1_000_000 - started) / 1000, 3),
             "busy_s": round(stats.busy_s, 6), "records_per_busy_s": rate,
             "rcvbuf": live.rcvbuf_bytes(sock), **live.socket_counters(sock)}
    sock.close()
    return _end(collector, log, out, time.time_ns() // 1_000_000, facts)


def _read(args, collector, config, log, out, handle) -> int:
    reader = Reader(set(args.port) if args.port else None)
    started = time.time_ns() // 1_000_000
    if not _start(log, out, args.read, started, config, f"# reading {args.read}, times UTC", read=args.read):
        return 2
    last_ms, fed = 0, 0
    try:
        with open(args.read, "rb") as f:
            for d in reader.datagrams(f):
                handle(d.payload, d.source, d.recv_ms, d.number)
                last_ms, fed = d.recv_ms, fed + 1
    except (OSError, CaptureError) as exc:
        print(f"collect: --read {args.read}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 2
    facts = {"read": args.read, "packets": reader.packets, "datagrams": fed,
             "skipped": dict(reader.counts), "fragments": dict(reader.fragments)}
    return _end(collector, log, out, last_ms, facts)
