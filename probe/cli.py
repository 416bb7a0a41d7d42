"""Command line: `python -m probe` (softflowd-like options).

  python -m probe -r FILE -n HOST:PORT [...]         offline, on a capture file
  python -m probe -i IF [-i IF] -n HOST:PORT [...]   live, on interfaces
  python -m probe ctl PATH stats|show|timeouts|flush a running probe's control socket
"""
from __future__ import annotations

import argparse
import sys

from . import quirks as Q
from . import stats_file
from .constants import (ACTIVE_MS, ENGINE_MAX, EXPORT_RATE, IFINDEX_MAX, INACTIVE_MS,
                        MAX_FLOWS, MAX_FLOWS_LIMIT, PACE_BURST, RING_BYTES, SCAN_MS, U32_MAX,
                        V9_TEMPLATE_PACKETS, V9_TEMPLATE_S)
from .engine_api import Config
from .fast.choose import engine_name
from .input_ifindex import InputIfindex
from .options import Parser, ring_size_arg, seconds_arg
from .live.ifindex import parse_override
from .output import OutputOptions
from .routes import RouteTable, parse_static_route

def parse_hostport(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _uint(limit: int):
    def parse(text: str) -> int:
        if not text.isdigit() or int(text) > limit:
            raise argparse.ArgumentTypeError(f"expected an integer 0..{limit}, got {text!r}")
        return int(text)
    return parse


def _count(limit: int):
    def parse(text: str) -> int:
        if not text.isdigit() or not 0 < int(text) <= limit:
            raise argparse.ArgumentTypeError(f"expected an integer 1..{limit}, got {text!r}")
        return int(text)
    return parse


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m probe",
                description="NetFlow v5/v9 probe with FreeBSD ng_netflow semantics.")
    src = p.add_argument_group("input (one of)")
    src.add_argument("-r", "--read", metavar="FILE", help="offline: read a pcap/pcapng file")
    src.add_argument("-i", "--interface", action="append", default=[], metavar="IF",
                     help="live: capture on this interface (repeatable)")
    p.add_argument("-n", "--collector", action="append", default=[], type=parse_hostport,
                   metavar="HOST:PORT", help="send every datagram here (repeatable)")
    p.add_argument("--print", action="store_true", dest="print_records",
                   help="write each exported record to stdout as a JSON line")
    t = p.add_argument_group("cache")
    t.add_argument("--active-timeout", type=seconds_arg, default=ACTIVE_MS / 1000, metavar="S",
                   help=f"export a flow older than S seconds (default {ACTIVE_MS // 1000})")
    t.add_argument("--inactive-timeout", type=seconds_arg, default=INACTIVE_MS / 1000,
                   metavar="S",
                   help=f"export a flow idle for more than S seconds (default {INACTIVE_MS // 1000})")
    t.add_argument("--scan-interval", type=seconds_arg, default=SCAN_MS / 1000, metavar="S",
                   help="expiry scan period; partial datagrams leave with each scan "
                        f"(default {SCAN_MS // 1000})")
    t.add_argument("--max-flows", type=_uint(MAX_FLOWS_LIMIT), default=MAX_FLOWS, metavar="N",
                   help="cache size; when full, the least recently used flow is exported "
                        f"(default {MAX_FLOWS})")
    t.add_argument("--no-icmp-ports", action="store_true",
                   help="leave ICMP ports 0 (as r135400) instead of type*256+code")
    e = p.add_argument_group("export")
    e.add_argument("--export", choices=("v5", "v9"), default="v5",
                   help="NetFlow version: v5 (as r135400; the default) or v9 (RFC 3954, as "
                        "FreeBSD's netflow_v9.c: one template, its field list in README)")
    e.add_argument("--template-interval", type=seconds_arg, metavar="S",
                   help="v9: send the template again with the first datagram S seconds after "
                        f"it was last sent (default {V9_TEMPLATE_S})")
    e.add_argument("--template-packets", type=_count(U32_MAX), metavar="N",
                   help="v9: ... or N datagrams after it (default "
                        f"{V9_TEMPLATE_PACKETS}; 1: in every datagram)")
    e.add_argument("--engine-type", type=_uint(ENGINE_MAX), default=0, metavar="N",
                   help="v5 header's engine_type; v9: the source id is type << 8 | id")
    e.add_argument("--engine-id", type=_uint(ENGINE_MAX), default=0, metavar="N")
    e.add_argument("--export-rate", type=_uint(10_000_000), default=EXPORT_RATE, metavar="N",
                   help=f"offline: at most N datagrams/s after a first {PACE_BURST} (what a "
                        f"collector's default socket buffer holds, with room), so collectors "
                        f"keep up (default {EXPORT_RATE}; 0: no limit)")
    r = p.add_argument_group("routes and interfaces")
    r.add_argument("--ifindex", action="append", default=[], metavar="N|NAME=N",
                   help="offline: N for every packet, or NAME=N for a pcapng interface "
                        "(default: its id; SLL2 frames carry their own); live: NAME=N override")
    r.add_argument("--direction", choices=("in", "both"), default="in",
                   help="offline, cooked captures (tcpdump -i any): `in` counts what arrived "
                        "(a router's capture: what it sent is a second copy of what it "
                        "forwarded; the default), `both` also what the capturing host sent "
                        "(a host's capture)")
    r.add_argument("--route", action="append", default=[], metavar="PREFIX[,via=GW][,dev=N]",
                   help="offline: a static route for enrichment (repeatable)")
    r.add_argument("--routes-file", metavar="FILE", help="offline: one --route value per line")
    p.add_argument("--engine", choices=("fast", "reference"),
                   help="flow engine: fast (compiled; the default) or reference (pure Python, "
                        "and the one that runs --quirk/--compat)")
    q = p.add_argument_group("historic bugs (see docs/field-bugs.md)")
    q.add_argument("--quirk", action="append", default=[], choices=Q.ALL, metavar="ID",
                   help=f"reproduce one r135400 bug: {', '.join(Q.ALL)}")
    q.add_argument("--compat", choices=sorted(Q.COMPAT), help="switch on every quirk of a release")
    g = p.add_argument_group("live")
    g.add_argument("--ring", type=ring_size_arg, default=RING_BYTES, metavar="SIZE",
                   help="live: the capture ring, pinned kernel memory (e.g. 1M, 512K; default "
                        f"{RING_BYTES >> 20}M: what a busy link needs for a burst)")
    g.add_argument("--control", metavar="PATH",
                   help="live: control socket (root only) for `python -m probe ctl PATH ...`")
    p.add_argument("--stats-file", metavar="PATH",
                   help="at exit, write the final statistics there as JSON (atomically)")
    p.add_argument("--records-file", metavar="PATH",
                   help="append every exported record there as a JSON line, with its datagram's "
                        "flow_sequence and export time and the expiry reason")
    return p


def config_from(args: argparse.Namespace) -> Config:
    if args.export == "v5" and (args.template_interval or args.template_packets):
        raise ValueError("--template-interval and --template-packets are v9's: give --export v9")
    return Config(
        inactive_ms=round(args.inactive_timeout * 1000),
        active_ms=round(args.active_timeout * 1000),
        scan_ms=max(1, round(args.scan_interval * 1000)),
        max_flows=args.max_flows,
        engine_type=args.engine_type,
        engine_id=args.engine_id,
        icmp_ports=not args.no_icmp_ports,
        quirks=Q.parse(args.quirk, args.compat),
        export_version=int(args.export[1:]),
        template_ms=max(1, round((args.template_interval or V9_TEMPLATE_S) * 1000)),
        template_packets=args.template_packets or V9_TEMPLATE_PACKETS,
        outgoing=args.direction == "both",
    )


def read_routes(specs: list[str], routes_file: str | None) -> RouteTable | None:
    """--route and --routes-file -> the offline route table (None if there is none)."""
    specs = list(specs)
    if routes_file:
        with open(routes_file) as f:
            specs += [line.split("#", 1)[0].strip() for line in f]
    table = RouteTable()
    for spec in filter(None, specs):
        net, plen, route = parse_static_route(spec)
        if route.out_ifindex > IFINDEX_MAX:
            raise ValueError(f"dev={route.out_ifindex} cannot be represented in NetFlow v5 "
                             f"(max {IFINDEX_MAX})")
        table.add(net, plen, route)
    return table if len(table) else None


def offline_ifindex(values: list[str]) -> InputIfindex:
    """--ifindex N (every packet) or NAME=N (a pcapng interface's packets), offline."""
    fixed = [v for v in values if v.isdigit()]
    names = dict(parse_override(v, "N or NAME=N offline") for v in values if not v.isdigit())
    if len(fixed) > 1 or (fixed and names):
        raise ValueError("offline --ifindex takes one number (every packet) or NAME=N mappings")
    if fixed and int(fixed[0]) > IFINDEX_MAX:
        raise ValueError(f"--ifindex {fixed[0]} cannot be represented in NetFlow v5 "
                         f"(max {IFINDEX_MAX})")
    return InputIfindex(int(fixed[0]) if fixed else None, names)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "ctl":
        from .live.ctl import main as ctl_main
        return ctl_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if bool(args.read) == bool(args.interface):
        parser.error("give either -r FILE (offline) or -i IF (live)")
    if not args.collector and not args.print_records:
        parser.error("nowhere to export: give -n HOST:PORT and/or --print")
    try:
        config = config_from(args)
        engine = engine_name(args.engine, config)
        output = OutputOptions(tuple(args.collector), args.print_records,
                               stats_file.checked(args.stats_file), args.records_file)
        if args.read:
            routes = read_routes(args.route, args.routes_file)
            ifindex = offline_ifindex(args.ifindex)
        else:
            if config.outgoing:  # the capture socket never sees what the host sends
                raise ValueError("--direction both is offline only (-r FILE)")
            overrides = dict(parse_override(text) for text in args.ifindex)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    if args.read:
        from .offline_cli import run
        return run(args.read, config, output, routes=routes, ifindex=ifindex,
                   export_rate=args.export_rate, engine=engine)
    from .live.daemon import run_daemon
    return run_daemon(config, output, interfaces=args.interface, overrides=overrides,
                      control=args.control, engine=engine, ring_bytes=args.ring)
