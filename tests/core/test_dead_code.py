"""Code nothing uses is deleted, not kept "just in case" (grep finds no caller)."""
from __future__ import annotations

from probe import pcapfile, routes
from probe.live import ctl, ifindex

GONE = [
    (routes.RouteTable, "remove"), (routes.RouteTable, "clear"), (routes.RouteTable, "items"),
    (routes, "NO_ROUTE"), (ifindex.IfindexMap, "name"), (ctl, "add_parser"),
]


def test_dead_code_is_gone():
    assert [f"{getattr(o, '__name__', o)}.{n}" for o, n in GONE if hasattr(o, n)] == []
    assert pcapfile.Frame._fields == ("ts_ns", "linktype", "data", "wire_len", "interface")
