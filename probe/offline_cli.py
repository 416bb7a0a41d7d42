"""`python -m probe -r FILE`: the offline driver (values parsed by probe.cli) -> statistics."""
from __future__ import annotations

import signal
import sys
import time
from typing import Callable

from . import stats_file
from .constants import PACE_BURST, Skip
from .engine_api import Config
from .fast.choose import offline
from .input_ifindex import InputIfindex
from .output import Output, OutputOptions
from .pacing import Pacer
from .pcapfile import PcapError
from .progress import watch
from .routes import RouteTable
from .stats import Stats

PROG = "python -m probe"


def paced(rate: int) -> Callable[[], None] | None:
    """The pacer's adapter: before each datagram, sleep as long as it says
    (None for no limit: nothing to call)."""
    if not rate:
        return None
    pacer = Pacer(rate, PACE_BURST, time.monotonic())

    def wait() -> None:
        delay = pacer.delay(time.monotonic())
        if delay > 0:
            time.sleep(delay)
    return wait


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

    def notes() -> list[str]:  # after the summary, on stderr
        return [f"warning: {w}" for w in ifindex.warnings()] + skip_notes(stats, config)

    stop: list[int] = []  # SIGINT/SIGTERM: stop reading; flows are expired and sent as at the end
    handlers = {sig: signal.signal(sig, lambda signum, _: stop.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _run(f, path, read, stats, options, export_rate, stop, notes)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def skip_notes(stats: Stats, config: Config) -> list[str]:
    """What the summary's skip counts leave to explain."""
    outgoing = stats.skipped.get(Skip.OUTGOING)
    if outgoing and not config.outgoing:
        return [f"note: {outgoing} frames the capturing host sent were skipped (outgoing: on a "
                "router, second copies of what it forwarded); --direction both counts them"]
    return []


def _run(f, path, read, stats, options, export_rate, stop, notes) -> int:
    output = None
    try:
        output = Output(options, stats, before_send=paced(export_rate))

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
        for note in notes():
            print(f"{PROG}: {note}", file=sys.stderr)
    if options.stats_file:
        problem = stats_file.write(options.stats_file, {**stats.as_dict(), "collectors": report})
        if problem:
            print(f"{PROG}: error: {problem}", file=sys.stderr)
            status = max(status, 1)
    if error:
        print(error, file=sys.stderr)
    return status
