"""`python -m probe -r FILE`: options -> offline run -> statistics."""
from __future__ import annotations

import argparse
import sys
import time

from .cli import config_from
from .live.sender import Sender
from .export import Datagram
from .fast.choose import engine_name, offline
from .pcapfile import PcapError
from .progress import watch
from .routes import RouteTable, parse_static_route
from .stats import Stats


def _routes(args: argparse.Namespace) -> RouteTable | None:
    specs = list(args.route)
    if args.routes_file:
        with open(args.routes_file) as f:
            specs += [line.split("#", 1)[0].strip() for line in f]
    table = RouteTable()
    for spec in filter(None, specs):
        net, plen, route = parse_static_route(spec)
        if route.out_ifindex > 0xFFFF:
            raise ValueError(f"dev={route.out_ifindex} cannot be represented in NetFlow v5 (max 65535)")
        table.add(net, plen, route)
    return table if len(table) else None


def _ifindex(args: argparse.Namespace) -> int:
    if not args.ifindex:
        return 0
    if len(args.ifindex) > 1 or not args.ifindex[0].isdigit():
        raise ValueError("offline --ifindex takes one number: the input ifindex for the file")
    value = int(args.ifindex[0])
    if value > 0xFFFF:
        raise ValueError(f"--ifindex {value} cannot be represented in NetFlow v5 (max 65535)")
    return value


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


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        config = config_from(args)
        engine, run_file = offline(engine_name(args.engine, config))
        routes = _routes(args)
        ifindex = _ifindex(args)
        f = watch(open(args.read, "rb"), lambda: (stats.packets, stats.flows_created))  # on a terminal
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    stats = Stats()  # exists before the first packet, for the sender's errors

    def make_probe(start_ms: int | None):
        return engine(config, routes, start_ms, stats)

    sender = None
    try:
        if args.collector:
            sender = Sender(args.collector, stats)
        pacer = Pacer(args.export_rate)

        def send(d: Datagram) -> None:
            if args.print_records:
                for r in d.records:
                    print(r.as_json())
            if sender:
                pacer.wait()
                sender.send(d.data)

        with f:
            run_file(f, make_probe, send, ifindex)
        status, error = 0, None
    except PcapError as exc:
        status = 2
        error = (f"python -m probe: error: {args.read}: {exc} "
                 f"(exported the {stats.packets} packets read before it)")
    except OSError as exc:
        status, error = 2, f"python -m probe: error: {exc}"
    finally:
        if sender:
            sender.close()
    if not error or stats.frames:  # a file that is no capture at all: just the error
        print(stats.summary(), file=sys.stderr if args.print_records else sys.stdout)
    if error:
        print(error, file=sys.stderr)
    return status
