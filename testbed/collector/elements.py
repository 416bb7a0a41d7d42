"""Information elements: what a template's field (PEN, id, length) means.

One table (iana_elements.py: id, name, abstract type) and one rule per
abstract type (below: which lengths it may be sent in, how its bytes read).
v9 field types are the same ids. RFC 7011 6.2 lets an exporter send unsigned,
signed and float64 values in fewer octets (reduced-size encoding); a field
sent in a length its type does not allow is kept as bytes (and said).
Enterprise-specific fields are opaque bytes named PEN.ID, except the reverse
elements of RFC 5103 (PEN 29305), which are the forward ones reversed.
"""
from __future__ import annotations

import socket
import struct
from functools import lru_cache
from typing import Callable, NamedTuple

from testbed.collector.iana_elements import TABLE

VARIABLE = 65535  # the length of a variable-length field in a template (RFC 7011 7)
REVERSE_PEN = 29305  # RFC 5103
NTP_UNIX_S = 2_208_988_800  # 1900-01-01 to 1970-01-01 (dateTimeMicro/Nanoseconds are NTP timestamps)


class DataType(NamedTuple):
    name: str
    lengths: frozenset[int] | None  # None: any length, variable-length included
    kind: str  # how the bytes read: see _READERS


# RFC 7011 6.1 (encodings) and 6.2 (reduced-size encoding).
_TYPES = """
unsigned8             1      unsigned
unsigned16            1-2    unsigned
unsigned32            1-4    unsigned
unsigned64            1-8    unsigned
signed8               1      signed
signed16              1-2    signed
signed32              1-4    signed
signed64              1-8    signed
float32               4      float
float64               4,8    float
boolean               1      boolean
macAddress            6      mac
octetArray            any    octets
string                any    string
dateTimeSeconds       4      seconds
dateTimeMilliseconds  8      milliseconds
dateTimeMicroseconds  8      ntp
dateTimeNanoseconds   8      ntp
ipv4Address           4      ipv4
ipv6Address           16     ipv6
basicList             any    octets
subTemplateList       any    octets
subTemplateMultiList  any    octets
"""


def _lengths(rule: str) -> frozenset[int] | None:
    if rule == "any":
        return None
    if "-" in rule:
        lo, hi = rule.split("-")
        return frozenset(range(int(lo), int(hi) + 1))
    return frozenset(int(n) for n in rule.split(","))


TYPES = {name: DataType(name, _lengths(rule), kind)
         for name, rule, kind in (line.split() for line in _TYPES.strip().splitlines())}
OCTETS = TYPES["octetArray"]


class Element(NamedTuple):
    pen: int  # 0: IANA
    id: int
    name: str
    type: DataType


ELEMENTS = {int(i): Element(0, int(i), name, TYPES[t])
            for i, name, t in (line.split() for line in TABLE.strip().splitlines())}
BY_NAME = {e.name: e for e in ELEMENTS.values()}

# RFC 3954 6.1: the scope field types of a v9 options template (a space of their own).
V9_SCOPES = {1: "scopeSystem", 2: "scopeInterface", 3: "scopeLineCard", 4: "scopeCache", 5: "scopeTemplate"}
_SCOPE_TYPE = DataType("scope", frozenset(range(1, 9)), "unsigned")


def element(pen: int, ident: int) -> Element:
    """The element a field names; an unknown one is bytes under a name that says what it was."""
    if pen == 0:
        return ELEMENTS.get(ident) or Element(0, ident, f"ie{ident}", OCTETS)
    if pen == REVERSE_PEN and ident in ELEMENTS:
        e = ELEMENTS[ident]
        return Element(pen, ident, "reverse" + e.name[0].upper() + e.name[1:], e.type)
    return Element(pen, ident, f"{pen}.{ident}", OCTETS)


def v9_scope(ident: int) -> Element:
    return Element(0, ident, V9_SCOPES.get(ident, f"scope{ident}"), _SCOPE_TYPE)


def element_named(name: str) -> Element | None:
    """The element behind a name as element() gives it (to read JSON lines back)."""
    if name in BY_NAME:
        return BY_NAME[name]
    if name.startswith("reverse") and (name[7:8].lower() + name[8:]) in BY_NAME:
        return element(REVERSE_PEN, BY_NAME[name[7:8].lower() + name[8:]].id)
    return None


def fits(t: DataType, length: int) -> bool:
    """May a field of this type be sent in `length` octets (VARIABLE: variable-length)?"""
    return t.lengths is None or length in t.lengths


# -- reading values ------------------------------------------------------------------

def _ntp_ns(v: int) -> int:
    """An NTP timestamp (RFC 7011 6.1.9/6.1.10) as unix nanoseconds."""
    return (v >> 32) * 1_000_000_000 - NTP_UNIX_S * 1_000_000_000 + ((v & 0xFFFFFFFF) * 1_000_000_000 >> 32)


def _uint(b: bytes) -> int:
    return int.from_bytes(b, "big")


def _int(b: bytes) -> int:
    return int.from_bytes(b, "big", signed=True)


def _text(b: bytes) -> str:
    return b.decode("utf-8", "backslashreplace")  # nothing lost, nothing that breaks JSON


def _boolean(v: int) -> bool | int:
    return {1: True, 2: False}.get(v, v)  # RFC 7011 6.1.5; anything else stays as sent


@lru_cache(maxsize=1 << 14)  # a run's records share few addresses: a lookup beats formatting
def _ipv4(b: bytes) -> str:
    return socket.inet_ntoa(b)


def _ipv6(b: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6, b)


_STRUCT_INT = {1: "B", 2: "H", 4: "I", 8: "Q"}
Reader = Callable[[object], object] | None


def field_format(t: DataType, length: int) -> tuple[str, Reader]:
    """How a fixed-length field reads: a struct code and what turns its result into
    the value (None: the struct's result is the value). A length the type does not
    allow reads as bytes."""
    kind = t.kind if fits(t, length) else "octets"
    if kind in ("unsigned", "seconds", "milliseconds", "ntp", "boolean"):
        code = _STRUCT_INT.get(length)
        after = {"ntp": _ntp_ns, "boolean": _boolean}.get(kind)
        if code is None:  # 3, 5, 6, 7 octets
            return f"{length}s", _uint
        return code, after
    if kind == "signed":
        code = _STRUCT_INT.get(length)
        return (code.lower(), None) if code else (f"{length}s", _int)
    if kind == "float":
        return ("f" if length == 4 else "d"), None
    after = {"mac": lambda b: b.hex(":"), "string": _text, "ipv4": _ipv4, "ipv6": _ipv6}.get(kind)
    return f"{length}s", after


def read_bytes(t: DataType, data: bytes):
    """The value of a field from its octets (variable-length ones, and JSON lines read back)."""
    code, after = field_format(t, len(data))
    if code.endswith("s"):
        return after(data) if after else bytes(data)
    v = struct.unpack(">" + code, data)[0]
    return after(v) if after else v
