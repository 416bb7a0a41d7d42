"""NetFlow v9 and IPFIX datagrams built by the tests with struct, from RFC 3954 and
RFC 7011 (written apart from the collector's decoder, as nfv5_build.py for v5).

A template is a list of (element id, length) or (element id, length, pen); a
record is a dict element id -> value (an int, an address as text, bytes), encoded
in the template's lengths. Lengths of 65535 are variable-length fields (the
value is bytes; a length octet, or 255 and two more, goes before it).
"""
from __future__ import annotations

import ipaddress
import struct

VARIABLE = 65535


def _spec(f) -> tuple[int, int, int]:
    return (f[0], f[1], f[2] if len(f) > 2 else 0)


def value(v, length: int) -> bytes:
    if isinstance(v, bytes):
        if length == VARIABLE:
            return (bytes([len(v)]) if len(v) < 255 else b"\xff" + struct.pack("!H", len(v))) + v
        assert len(v) == length, (v, length)
        return v
    if isinstance(v, str):
        return ipaddress.ip_address(v).packed
    return v.to_bytes(length, "big")


def record(template, values: dict) -> bytes:
    """A record of `template`: each field's value (by element id; absent ones are zeros)."""
    out = b""
    for f in template:
        ident, length, pen = _spec(f)
        v = values.get((pen, ident) if pen else ident, b"" if length == VARIABLE else 0)
        out += value(v, length)
    return out


def _pad(body: bytes, pad: int | None) -> bytes:
    n = (-len(body)) % 4 if pad is None else pad
    return body + b"\0" * n


def _set(set_id: int, body: bytes) -> bytes:
    return struct.pack("!HH", set_id, 4 + len(body)) + body


# -- v9 --------------------------------------------------------------------------------------

def v9_templates(*templates: tuple[int, list]) -> bytes:
    """FlowSet 0: (template id, fields)..."""
    body = b"".join(struct.pack("!HH", tid, len(fields)) + b"".join(struct.pack("!HH", *_spec(f)[:2]) for f in fields)
                    for tid, fields in templates)
    return _set(0, body)


def v9_options_template(tid: int, scope: list, fields: list) -> bytes:
    """FlowSet 1: scope fields (scope type, length), then option fields; padded to 4."""
    body = struct.pack("!HHH", tid, 4 * len(scope), 4 * len(fields))
    body += b"".join(struct.pack("!HH", *_spec(f)[:2]) for f in scope + fields)
    return _set(1, _pad(body, None))


def data(tid: int, records: list[bytes], pad: int | None = None) -> bytes:
    """A data set (v9 or IPFIX): records, padded to 4 octets (or `pad` octets of zeros)."""
    return _set(tid, _pad(b"".join(records), pad))


def v9(sets: list[bytes], *, seq: int = 0, uptime: int = 100_000, unix_secs: int = 1_790_000_000,
       source_id: int = 0, count: int | None = None) -> bytes:
    """A v9 datagram; `count` defaults to the number of records, which the caller knows: give it."""
    return struct.pack("!HHIIII", 9, count or 0, uptime, unix_secs, seq, source_id) + b"".join(sets)


# -- IPFIX -------------------------------------------------------------------------------------

def _specifiers(fields) -> bytes:
    out = b""
    for f in fields:
        ident, length, pen = _spec(f)
        out += struct.pack("!HHI", ident | 0x8000, length, pen) if pen else struct.pack("!HH", ident, length)
    return out


def ipfix_templates(*templates: tuple[int, list], pad: int = 0) -> bytes:
    """Set 2: (template id, fields)... (a field with a pen has the enterprise bit)."""
    body = b"".join(struct.pack("!HH", tid, len(fields)) + _specifiers(fields) for tid, fields in templates)
    return _set(2, body + b"\0" * pad)


def ipfix_options_template(tid: int, scope: list, fields: list) -> bytes:
    """Set 3: the scope fields first."""
    body = struct.pack("!HHH", tid, len(scope) + len(fields), len(scope)) + _specifiers(scope + fields)
    return _set(3, body)


def ipfix_withdraw(*tids: int, set_id: int = 2) -> bytes:
    """Template withdrawals (field count 0); tid == set_id withdraws all of that set's kind."""
    return _set(set_id, b"".join(struct.pack("!HH", tid, 0) for tid in tids))


def ipfix(sets: list[bytes], *, seq: int = 0, export_s: int = 1_790_000_000, domain: int = 0) -> bytes:
    body = b"".join(sets)
    return struct.pack("!HHIII", 10, 16 + len(body), export_s, seq, domain) + body
