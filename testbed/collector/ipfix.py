"""IPFIX (RFC 7011) wire format: a 16-octet message header, then Sets.

Set id 2: template records (id, field count, field specifiers); 3: options
template records (id, field count, scope field count, specifiers; the scope
fields first); 4-255 reserved; 256 and up: data. A field specifier is an
element id and a length, and when the id's top bit is set a 4-octet
enterprise number follows (3.2). A template record with no fields withdraws
that template, or every template of its set's kind when its id is the set id
(8.1). The message length must be the datagram's.
"""
from __future__ import annotations

import struct

from testbed.collector.model import FieldSpec, Header
from testbed.collector.sets import MIN_DATA_SET_ID, Malformed, Message, TemplateSpec, padding, walk

HEADER = struct.Struct("!HHIII")  # version, length, export time, sequence, observation domain
TEMPLATE_SET, OPTIONS_SET = 2, 3
ENTERPRISE_BIT = 0x8000
assert HEADER.size == 16


def parse(data: bytes) -> Message:
    """The header and sets of an IPFIX message; Malformed if its lengths make no sense."""
    if len(data) < HEADER.size:
        raise Malformed("too-short", f"{len(data)} bytes, an IPFIX header needs 16")
    version, length, export_s, seq, domain = HEADER.unpack_from(data)
    if version != 10:
        raise Malformed("bad-version", f"version {version}")
    if length != len(data):
        raise Malformed("length-mismatch", f"{len(data)} bytes, the message length says {length}")
    findings: list = []

    def template_set(set_id: int, body: bytes, offset: int):
        if set_id in (TEMPLATE_SET, OPTIONS_SET):
            return _templates(set_id, body, offset, findings)
        return None

    sets, end = walk(data, HEADER.size, len(data), template_set, findings)
    if end != len(data):
        raise Malformed("bad-set-length", f"{len(data) - end} octets after the last set: not a set")
    header = Header(version, 0, 0, export_s, 0, seq, 0, 0, 0, 0, domain)
    return Message(header, tuple(sets), tuple(findings))


def _templates(set_id: int, body: bytes, offset: int, findings: list) -> tuple[TemplateSpec, ...]:
    options = set_id == OPTIONS_SET
    out, pos, end = [], 0, len(body)
    while end - pos >= 4:
        at = offset + 4 + pos
        tid, n = struct.unpack_from("!HH", body, pos)
        pos += 4
        if n == 0:  # a withdrawal: one template, or all of this set's kind
            if tid < MIN_DATA_SET_ID and tid != set_id:
                raise Malformed("bad-template", f"withdrawal of template {tid} at offset {at}: "
                                                f"ids start at 256 (or {set_id}: all)")
            out.append(TemplateSpec(tid, (), options=options, withdraw=True))
            continue
        if tid < MIN_DATA_SET_ID:
            raise Malformed("bad-template", f"template {tid} at offset {at}: ids start at 256")
        scope = 0
        if options:
            if end - pos < 2:
                raise Malformed("bad-template", f"options template {tid} at offset {at} runs past its set")
            scope = struct.unpack_from("!H", body, pos)[0]
            pos += 2
            if not 0 < scope <= n:
                raise Malformed("bad-template", f"options template {tid} at offset {at}: scope field "
                                                f"count {scope} of {n} fields (RFC 7011 3.4.2.2: 1..{n})")
        fields = []
        for _ in range(n):
            if end - pos < 4:
                raise Malformed("bad-template", f"template {tid} at offset {at}: {n} fields run past its set")
            ident, length = struct.unpack_from("!HH", body, pos)
            pos += 4
            pen = 0
            if ident & ENTERPRISE_BIT:
                if end - pos < 4:
                    raise Malformed("bad-template", f"template {tid} at offset {at}: an enterprise number "
                                                    f"runs past its set")
                pen = struct.unpack_from("!I", body, pos)[0]
                pos += 4
                ident &= ~ENTERPRISE_BIT
            fields.append(FieldSpec(pen, ident, length))
        out.append(TemplateSpec(tid, tuple(fields), scope, options))
    padding("options template set" if options else "template set", body[pos:], offset, findings)
    return tuple(out)
