"""Typed readers for YAML values: each returns the value, or None after recording why.

`Reader.fields` checks a mapping's keys (unknown and missing ones), the
others check one scalar. Callers test for None and carry on, so one pass
reports every problem in the file.
"""
from __future__ import annotations

import difflib
import math
import re
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any, Iterable

from probe.constants import MAX_SECONDS, MIN_SECONDS

from .errors import Problems
from .printable import UNSAFE, printable
from .yamltree import Y

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
IFNAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$")  # Linux: max 15 chars, no '/' or ':'
TCP_FLAGS = {"FIN": 0x01, "SYN": 0x02, "RST": 0x04, "PSH": 0x08,
             "ACK": 0x10, "URG": 0x20, "ECE": 0x40, "CWR": 0x80}
PROTOCOLS = {"icmp": 1, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51, "sctp": 132}
# a probe timeout, as the probe's command line and control socket take it (probe/options.py):
# v5 times are 32-bit milliseconds, and the engines count whole ones (0.0004 s would be 0)
TIMEOUT_MIN_S, TIMEOUT_MAX_S = MIN_SECONDS, MAX_SECONDS


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


class Reader:
    def __init__(self, problems: Problems):
        self.problems = problems

    def error(self, y: Y, message: str, at_key: bool = False) -> None:
        self.problems.add(y.keyline if at_key else y.line, y.path, message)

    # -- mappings -----------------------------------------------------------
    def fields(self, y: Y, required: Iterable[str] = (), optional: Iterable[str] = (),
               what: str = "") -> dict[str, Y] | None:
        """The mapping's entries, after checking that no key is unknown or missing."""
        if not y.is_map:
            self.error(y, f"expected a mapping{' (' + what + ')' if what else ''}, got {_kind(y)}")
            return None
        required, optional = tuple(required), tuple(optional)
        known = required + optional
        for key, value in y.items():
            if key not in known:
                hint = _closest(key, known)
                self.error(value, f"unknown field {key!r}" + (f" (did you mean {hint!r}?)" if hint
                           else f" (known: {', '.join(known)})"), at_key=True)
        for key in required:
            if key not in y.value:
                self.error(y, f"missing field {key!r}" + (f" ({what})" if what else ""), at_key=True)
        return {k: v for k, v in y.items() if k in known}

    def mapping(self, y: Y, what: str) -> dict[str, Y] | None:
        if not y.is_map:
            self.error(y, f"expected a mapping of {what}, got {_kind(y)}")
            return None
        return dict(y.items())

    def sequence(self, y: Y, what: str) -> list[Y]:
        if not y.is_seq:
            self.error(y, f"expected a list of {what}, got {_kind(y)}")
            return []
        return list(y)

    def one_or_many(self, y: Y) -> list[Y]:
        """A scalar or a list of scalars (e.g. `address: X` or `address: [X, Y]`)."""
        return list(y) if y.is_seq else [y]

    # -- scalars ------------------------------------------------------------
    def text(self, y: Y, what: str = "a string") -> str | None:
        if isinstance(y.value, str) and UNSAFE.search(y.value):  # "\e]0;...\a" would retitle a terminal
            self.error(y, f"{what} holds a control character ({printable(UNSAFE.search(y.value).group())}): "
                          "not allowed, it would reach terminals and JUnit XML as it is")
            return None
        if isinstance(y.value, str) and y.value.strip():
            return y.value.strip()
        self.error(y, f"expected {what}, got {_kind(y)}")
        return None

    def name(self, y: Y | str, where: Y, what: str = "name") -> str | None:
        value = y.value if isinstance(y, Y) else y
        if isinstance(value, str) and NAME_RE.match(value):
            return value
        self.error(where, f"bad {what} {value!r}: use a letter then letters, digits, '-' or '_' "
                          "(at most 32)")
        return None

    def integer(self, y: Y, lo: int, hi: int, what: str = "an integer") -> int | None:
        if _is_int(y.value) and lo <= y.value <= hi:
            return y.value
        self.error(y, f"expected {what} in {lo}..{hi}, got {_show(y)}")
        return None

    def number(self, y: Y, lo: float = 0.0, positive: bool = False,
               what: str = "a number of seconds", hi: float | None = None) -> float | None:
        v = y.value
        if _is_number(v) and (v > lo if positive else v >= lo) and (hi is None or v <= hi):
            return float(v)
        rule = f"> {lo:g}" if positive else f">= {lo:g}"
        if hi is not None:
            rule += f" and <= {int(hi) if hi == int(hi) else hi}"
        self.error(y, f"expected {what} {rule}, got {_show(y)}")
        return None

    def boolean(self, y: Y) -> bool | None:
        if isinstance(y.value, bool):
            return y.value
        self.error(y, f"expected true or false, got {_show(y)}")
        return None

    def choice(self, y: Y, choices: Iterable[str], what: str = "value") -> str | None:
        choices = tuple(choices)
        if isinstance(y.value, str) and y.value in choices:
            return y.value
        self.error(y, f"unknown {what} {_show(y)} (one of: {', '.join(choices)})")
        return None

    def address(self, y: Y | str, where: Y | None = None) -> IPv4Address | None:
        where = where or y
        text = y.value if isinstance(y, Y) else y
        try:
            return IPv4Address(text)
        except ValueError:
            self.error(where, f"expected an IPv4 address, got {text!r}")
            return None

    def interface_address(self, y: Y) -> IPv4Interface | None:
        """`10.0.1.1/24`: an address with its prefix length (not the network or broadcast)."""
        text = y.value
        if not isinstance(text, str) or "/" not in text:
            self.error(y, f"expected an address with a prefix length like 10.0.1.1/24, got {_show(y)}")
            return None
        try:
            a = IPv4Interface(text)
        except ValueError:
            self.error(y, f"expected an address with a prefix length like 10.0.1.1/24, got {text!r}")
            return None
        net = a.network
        if net.prefixlen < 31 and a.ip in (net.network_address, net.broadcast_address):
            which = "network" if a.ip == net.network_address else "broadcast"
            self.error(y, f"{text} is the {which} address of {net}")
            return None
        return a

    def prefix(self, y: Y | str, where: Y | None = None) -> IPv4Network | None:
        """`10.0.2.0/24`, a bare address (a /32) or `default`."""
        where = where or y
        text = y.value if isinstance(y, Y) else y
        if text == "default":
            return IPv4Network("0.0.0.0/0")
        try:
            return IPv4Network(text)
        except ValueError as exc:
            hint = ""
            if "host bits set" in str(exc):
                hint = f" (did you mean {IPv4Network(text, strict=False)}?)"
            self.error(where, f"expected a prefix like 10.0.2.0/24, got {text!r}{hint}")
            return None

    def port(self, y: Y, lo: int = 0) -> int | None:
        return self.integer(y, lo, 65535, "a port")

    def protocol(self, y: Y) -> int | None:
        if isinstance(y.value, str) and y.value.lower() in PROTOCOLS:
            return PROTOCOLS[y.value.lower()]
        if _is_int(y.value) and 0 <= y.value <= 255:
            return y.value
        self.error(y, f"expected a protocol ({', '.join(PROTOCOLS)} or 0..255), got {_show(y)}")
        return None

    def tcp_flags(self, y: Y) -> int | None:
        """`[SYN, ACK]`, `"SYN,ACK"` or an integer 0..255."""
        if _is_int(y.value):
            return self.integer(y, 0, 255, "TCP flags")
        names = ([n.value for n in y] if y.is_seq else
                 str(y.value).replace(",", " ").split() if isinstance(y.value, str) else None)
        if names is None or not all(isinstance(n, str) for n in names):
            self.error(y, f"expected TCP flags like [SYN, ACK] or 0..255, got {_show(y)}")
            return None
        bad = [n for n in names if n.upper() not in TCP_FLAGS]
        if bad:
            self.error(y, f"unknown TCP flag {bad[0]!r} (known: {', '.join(TCP_FLAGS)})")
            return None
        value = 0
        for n in names:
            value |= TCP_FLAGS[n.upper()]
        return value

    def count_range(self, y: Y, what: str = "a count") -> tuple[int, int | None] | None:
        """`N` (exactly N) or `[min, max]` (max may be null: no upper bound)."""
        if _is_int(y.value) and y.value >= 0:
            return (y.value, y.value)
        if y.is_seq and len(y.value) == 2:
            lo, hi = y.value
            if _is_int(lo.value) and lo.value >= 0 and (hi.value is None or (
                    _is_int(hi.value) and hi.value >= lo.value)):
                return (lo.value, hi.value)
        self.error(y, f"expected {what}: N or [min, max] with 0 <= min <= max, got {_show(y)}")
        return None

    def window(self, y: Y) -> tuple[float, float] | None:
        """`[lo, hi]` seconds, 0 <= lo <= hi."""
        if y.is_seq and len(y.value) == 2:
            lo, hi = (v.value for v in y.value)
            if _is_number(lo) and _is_number(hi) and 0 <= lo <= hi:
                return (float(lo), float(hi))
        self.error(y, f"expected a time window [lo, hi] in seconds with 0 <= lo <= hi, got {_show(y)}")
        return None


def _kind(y: Y) -> str:
    if y.is_map:
        return "a mapping"
    if y.is_seq:
        return "a list"
    return "nothing" if y.value is None else f"{type(y.value).__name__} {y.value!r}"


def _show(y: Y) -> str:
    return _kind(y) if not y.is_scalar else repr(y.value)


def _closest(word: str, known: tuple[str, ...]) -> str | None:
    found = difflib.get_close_matches(word, known, n=1, cutoff=0.75)
    return found[0] if found else None
