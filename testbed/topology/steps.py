"""`traffic:` - ordered steps; each kind lists its required and optional fields.

A step comes out as `Step(kind, args)` where args are the validated values
(names stay names: the traffic runners resolve addresses in the built lab).
To add a kind or a field, edit the two tables below.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from .entries import kind_fields, read_entries
from .fields import Reader
from .model import Step, frozen_map
from .refs import Known
from .routes import read_route
from .yamltree import Y

_FLOW = ("sport", "dport", "packets", "size", "interval", "tos", "name")
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # kind -> (required, optional)
    "tcp": (("from", "to"), _FLOW + ("close", "handshake")),
    "udp": (("from", "to"), _FLOW + ("rate",)),
    "icmp": (("from", "to"), ("packets", "size", "interval", "tos", "id",
                              "icmp_type", "icmp_code", "name")),
    "ping": (("from", "to"), ("packets", "size", "interval", "tos", "name")),
    "fragments": (("from", "to"), _FLOW + ("fragsize", "first_fragment_payload", "proto")),
    "scan": (("from",), ("to", "targets", "count", "proto", "first_port", "interval",
                         "sport", "size", "tos", "name")),
    "iperf3": (("from", "to", "duration"), ("proto", "dport", "bitrate", "parallel",
                                             "reverse", "tos", "name")),
    "replay": (("interface", "file"), ("speed", "pps", "loop", "name")),
    "wait": (("seconds",), ("name",)),
    "link": (("interface", "action"), ("name",)),
    "route": (("node", "action", "route"), ("name",)),
    "probe": (("probe", "action"), ("name",)),
    "control": (("probe", "command"), ("name",)),
}
ACTIONS = {"link": ("down", "up"), "route": ("add", "delete", "change", "replace"),
           "probe": ("stop", "start", "restart")}
BITRATE = re.compile(r"^\d+(\.\d+)?[KMG]?$")

Read = Callable[[Reader, Known, Y], Any]
FIELDS: dict[str, Read] = {
    "from": lambda r, k, y: (n := k.node(r, y)) and n.name,
    "node": lambda r, k, y: (n := k.node(r, y)) and n.name,
    "to": lambda r, k, y: k.host_or_address(r, y),
    "targets": lambda r, k, y: _all([k.host_or_address(r, i) for i in r.sequence(y, "targets")]),
    "interface": lambda r, k, y: (i := k.interface(r, y)) and i.ref,
    "probe": lambda r, k, y: (p := k.probe(r, y)) and p.name,
    "sport": lambda r, k, y: r.port(y),
    "dport": lambda r, k, y: r.port(y, 1),
    "first_port": lambda r, k, y: r.port(y, 1),
    "packets": lambda r, k, y: r.integer(y, 1, 10_000_000, "a packet count"),
    "count": lambda r, k, y: r.integer(y, 1, 10_000_000, "a count"),
    "loop": lambda r, k, y: r.integer(y, 1, 1_000_000, "a loop count"),
    "parallel": lambda r, k, y: r.integer(y, 1, 128, "a stream count"),
    "size": lambda r, k, y: r.integer(y, 0, 65507, "a payload size in bytes"),
    "fragsize": lambda r, k, y: _multiple_of_8(r, y, 8),
    "first_fragment_payload": lambda r, k, y: _multiple_of_8(r, y, 0),
    "interval": lambda r, k, y: r.number(y),
    "seconds": lambda r, k, y: r.number(y),
    "duration": lambda r, k, y: r.number(y, positive=True),
    "rate": lambda r, k, y: r.number(y, positive=True, what="packets per second"),
    "pps": lambda r, k, y: r.number(y, positive=True, what="packets per second"),
    "speed": lambda r, k, y: r.number(y, positive=True, what="a speed multiplier"),
    "tos": lambda r, k, y: r.integer(y, 0, 255, "a TOS byte"),
    "id": lambda r, k, y: r.integer(y, 0, 65535, "an ICMP id"),
    "icmp_type": lambda r, k, y: r.integer(y, 0, 255, "an ICMP type"),
    "icmp_code": lambda r, k, y: r.integer(y, 0, 255, "an ICMP code"),
    "close": lambda r, k, y: r.choice(y, ("fin", "rst", "none"), "close"),
    "proto": lambda r, k, y: r.choice(y, ("tcp", "udp", "icmp"), "protocol"),
    "handshake": lambda r, k, y: r.boolean(y),
    "reverse": lambda r, k, y: r.boolean(y),
    "bitrate": lambda r, k, y: _bitrate(r, y),
    "file": lambda r, k, y: _file(r, k, y),
    "command": lambda r, k, y: _words(r, y),
    "name": lambda r, k, y: r.text(y, "a step name"),
}


def read_traffic(r: Reader, spec: Y, known: Known) -> tuple[Step, ...]:
    return read_entries(r, spec, "traffic steps", "step",
                        lambda index, y: _read_step(r, known, index, y), read_duplicates=True)


def _read_step(r: Reader, known: Known, index: int, y: Y) -> Step | None:
    got = kind_fields(r, y, KINDS, "step", "kind:")
    if got is None:
        return None
    kind, f, required, _ = got
    args: dict[str, Any] = {"kind": kind}
    ok = all(k in f for k in required)
    for key, value in f.items():
        if key == "kind":
            continue
        if key == "action":
            parsed = r.choice(value, ACTIONS[kind], f"{kind} action")
        elif key == "route":
            node = f["node"].value if "node" in f else None
            parsed = None
            if isinstance(node, str) and node in known.nodes:  # else node: has its own error
                parsed = read_route(r, known.net, node, value)
        else:
            parsed = FIELDS[key](r, known, value)
        ok = ok and parsed is not None
        args[key] = parsed
    if kind == "scan" and ("to" in f) == ("targets" in f):
        r.error(y, "a scan needs either to: (a port scan) or targets: (a host scan)")
        ok = False
    if "interval" in f and "rate" in f:
        r.error(f["rate"], "give either interval: or rate:, not both", at_key=True)
        ok = False
    return Step(index, kind, frozen_map(args), args.get("name"), y.line) if ok else None


def _all(values: list) -> tuple | None:
    return tuple(values) if values and all(v is not None for v in values) else None


def _multiple_of_8(r: Reader, y: Y, lo: int) -> int | None:
    v = r.integer(y, lo, 65535, "a fragment payload size")
    if v is not None and v % 8:
        r.error(y, f"fragment payload sizes are multiples of 8 bytes, got {v}")
        return None
    return v


def _bitrate(r: Reader, y: Y) -> str | None:
    if BITRATE.match(str(y.value)):
        return str(y.value)
    r.error(y, f"expected a bitrate like 10M, got {y.value!r}")
    return None


def _file(r: Reader, known: Known, y: Y) -> str | None:
    text = r.text(y, "a file name")
    if text is None:
        return None
    path = (known.base_dir / text).resolve()
    if not path.is_file():
        r.error(y, f"no such file: {path}")
        return None
    return str(path)


def _words(r: Reader, y: Y) -> tuple[str, ...] | None:
    """`"timeouts 5 30"` or `[timeouts, 5, 30]` -> ("timeouts", "5", "30")."""
    if isinstance(y.value, str) and y.value.split():
        return tuple(y.value.split())
    if y.is_seq and y.value and all(i.is_scalar and i.value is not None for i in y):
        return tuple(str(i.value) for i in y)
    r.error(y, f"expected a command like 'timeouts 5 30', got {y.plain()!r}")
    return None
