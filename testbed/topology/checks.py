"""`expect:` - ordered, named checks; each kind lists its required and optional fields.

Checks speak the operator's language: interfaces by name (`r1:eth1`), next
hops by node, counts as N or [min, max]. Names are resolved against the file
here; interface indexes are only known once the lab is built.
"""
from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

from .entries import kind_fields, read_entries
from .fields import Reader
from .model import Check, Match, Probe, frozen_map
from .refs import Known
from .yamltree import Y

COMMON = ("name", "kind", "probe", "message")
_RECORD = ("in_if", "out_if", "next_hop", "src_mask", "dst_mask", "tcp_flags",
           "packets", "octets", "records", "duration")
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # kind -> (required, optional)
    "flow": (("match",), _RECORD),
    "exported_within": (("match", "window"), ("records", "after")),
    "active_split": (("match",), ("records", "packets", "octets", "window", "after")),
    "sequence": ((), ()),
    "no_malformed": ((), ()),
    "conservation": ((), ("match", "step")),
    "findings": ((), ("codes",)),
}
MATCH_FIELDS = ("src", "dst", "sport", "dport", "proto", "tos")


def read_expect(r: Reader, spec: Y, known: Known, step_names: set[str]) -> tuple[Check, ...]:
    return read_entries(r, spec, "checks", "check",
                        lambda index, y: _read_check(r, known, step_names, index, y),
                        read_duplicates=False)


def _read_check(r: Reader, known: Known, step_names: set[str], index: int, y: Y) -> Check | None:
    got = kind_fields(r, y, KINDS, "check", "name: and kind:", ("name",), ("probe", "message"))
    if got is None:
        return None
    kind, f, required, optional = got
    ok = all(k in f for k in ("name",) + required)
    name = r.text(f["name"], "a check name") if "name" in f else None
    message = r.text(f["message"], "a message for the operator") if "message" in f else None
    probe = _probe(r, known, f.get("probe"), y)
    match = _match(r, known, f["match"]) if "match" in f else None
    args: dict[str, Any] = {"kind": kind}
    for key in required + optional:
        if key in f and key != "match":
            args[key] = value = _field(r, known, probe, step_names, key, f[key])
            ok = ok and value is not None
    ok = ok and name is not None and probe is not None and (match is not None or "match" not in f)
    if not ok:
        return None
    return Check(index, name, kind, frozen_map(args), probe.name, match, message, y.line,
                 frozen_map(y.plain()))


def _probe(r: Reader, known: Known, y: Y | None, check: Y) -> Probe | None:
    if y is not None:
        return known.probe(r, y)
    if len(known.probes) == 1:
        return next(iter(known.probes.values()))
    r.error(check, "say which probe this check is about (probe: NAME)" if known.probes
            else "there is no probe to check (add one under probes:)")
    return None


def _match(r: Reader, known: Known, y: Y) -> Match | None:
    f = r.fields(y, (), MATCH_FIELDS, "a flow match")
    if f is None:
        return None
    out: dict[str, Any] = {}
    for key, value in f.items():
        if key in ("src", "dst"):
            out[key] = known.networks(r, value)
        elif key == "proto":
            out[key] = r.protocol(value)
        elif key == "tos":
            out[key] = r.integer(value, 0, 255, "a TOS byte")
        else:
            out[key] = r.port(value)
    return Match(**out) if all(v is not None for v in out.values()) else None


def _field(r: Reader, known: Known, probe: Probe | None, step_names: set[str],
           key: str, y: Y) -> Any:
    if key in ("in_if", "out_if"):
        return _ifref(r, known, probe, y)
    if key == "next_hop":
        return _next_hop(r, known, probe, y)
    if key in ("src_mask", "dst_mask"):
        return r.integer(y, 0, 32, "a prefix length")
    if key == "tcp_flags":
        return r.tcp_flags(y)
    if key in ("packets", "octets", "records"):
        return r.count_range(y, key)
    if key in ("window", "duration"):
        return r.window(y)
    if key == "codes":
        return _codes(r, y)
    # after / step: the name of a traffic step
    if isinstance(y.value, str) and y.value in step_names:
        return y.value
    r.error(y, f"no traffic step is named {y.value!r}"
               + (f" (named steps: {', '.join(sorted(step_names))})" if step_names else ""))
    return None


def _ifref(r: Reader, known: Known, probe: Probe | None, y: Y) -> str | int | None:
    """`r1:eth1` (on the probe's router), or a literal ifindex such as 0."""
    if isinstance(y.value, int) and not isinstance(y.value, bool):
        return r.integer(y, 0, 2**32 - 1, "an ifindex")
    iface = known.interface(r, y)
    if iface is None or probe is None:
        return None
    if iface.node != probe.node:
        r.error(y, f"{iface.ref} is not on {probe.name}'s router {probe.node}")
        return None
    return iface.ref


def _next_hop(r: Reader, known: Known, probe: Probe | None, y: Y) -> IPv4Address | None:
    """A node (its address on the link it shares with the probe's router) or an address."""
    text = y.value
    if isinstance(text, str) and text in known.nodes:
        if probe is None:
            return None
        try:
            return known.topo.address_of(text, on_link_with=probe.node)
        except ValueError as exc:
            r.error(y, f"next hop {text}: {exc}")
            return None
    try:
        return IPv4Address(text)
    except ValueError:
        r.error(y, f"next hop {text!r} is neither a node nor an IPv4 address")
        return None


def _codes(r: Reader, y: Y) -> tuple[str, ...] | None:
    """Finding codes of the reference collector, e.g. [tcp-flags-zero, uptime-drift]."""
    from testbed.collector.checks import CODES
    names = [i.value for i in y] if y.is_seq else None
    if not names or not all(isinstance(n, str) for n in names):
        r.error(y, f"expected a list of finding codes, got {y.plain()!r}")
        return None
    bad = [n for n in names if n not in CODES]
    if bad:
        r.error(y, f"unknown finding code {bad[0]!r} (known: {', '.join(sorted(CODES))})")
        return None
    return tuple(names)
