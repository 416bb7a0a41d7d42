"""`python -m probe -r FILE`: the offline driver (values parsed by probe.cli) -> statistics."""
from __future__ import annotations

import signal
import sys
import time

from . import stats_file
from .engine_api import Config
from .fast.choose import offline
from .input_ifindex import InputIfindex
from .output import Output, OutputOptions
from .pcapfile import PcapError
from .progress import watch
from .routes import RouteTable
from .stats import Stats

PROG = "python -m probe"


class Pacer:
    """At most `rate` datagrams per second (0: no limit).

    A capture file replays minutes of traffic in a second; pacing keeps the
    collector's socket buffer from overflowing (it would drop silently).
    """

    def __init__(self, rate: int) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._due = time.monotonic()

    def wait(self) -> None:
        if not self.interval:
            return
        wait = self._due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        # no credit for idle time: a burst would overrun a collector's buffer
        self._due = max(self._due, time.monotonic()) + self.interval


def run(path: str, config: Config, options: OutputOptions, *, routes: RouteTable | None = None,
        ifindex: InputIfindex | None = None, export_rate: int = 0,
        engine: str = "reference") -> int:
    try:
        f = watch(open(path, "rb"), lambda: (stats.packets, stats.flows_created))  # on a terminal
    except OSError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    stats = Stats()  # exists before the first packet, for the sender's errors
    ifindex = ifindex or InputIfindex()

    probe_class, run_file = offline(engine, config)

    def make_probe(start_ms: int | None):
        return probe_class(config, routes, start_ms, stats)

    def read(f, emit, stop) -> None:
        run_file(f, make_probe, emit, ifindex, stop)

    stop: list[int] = []  # SIGINT/SIGTERM: stop reading; flows are expired and sent as at the end
    handlers = {sig: signal.signal(sig, lambda signum, _: stop.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _run(f, path, read, stats, options, export_rate, stop, ifindex.warnings)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _run(f, path, read, stats, options, export_rate, stop, ifindex_warnings) -> int:
    output = None
    try:
        output = Output(options, stats, before_send=Pacer(export_rate).wait)

        def emit(datagram):
            output.emit(datagram)
            if output.finished:  # `--print | head` and no collector: the rest would go nowhere
                stop.append(0)

        with f:
            read(f, emit, stop)
        status, error = 0, None
    except PcapError as exc:
        status = 2
        error = f"{PROG}: error: {path}: {exc} (exported the {stats.packets} packets read before it)"
    except (OSError, ValueError) as exc:  # ValueError: a collector that cannot be one
        status, error = 2, f"{PROG}: error: {exc}"
    finally:
        report = {}
        if output:
            output.flush()
            output.close()  # after the errors of the last datagrams came back
            report = output.report()
    if not error or stats.frames:  # a file that is no capture at all: just the error
        print(stats.summary(), file=sys.stderr if options.print_records else sys.stdout)
        for warning in ifindex_warnings():
            print(f"{PROG}: warning: {warning}", file=sys.stderr)
    if options.stats_file:
        problem = stats_file.write(options.stats_file, {**stats.as_dict(), "collectors": report})
        if problem:
            print(f"{PROG}: error: {problem}", file=sys.stderr)
            status = max(status, 1)
    if error:
        print(error, file=sys.stderr)
    return status
