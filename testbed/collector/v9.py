"""NetFlow v9 (RFC 3954) wire format: a 20-octet header, then FlowSets.

FlowSet id 0: templates (id, field count, then type/length pairs); 1: options
templates (id, scope length and option length in octets, then the scope and
option fields' type/length pairs, then padding); 2-255 reserved; 256 and up:
data. Field types are information element ids (elements.py), scope types are
their own (System, Interface, ...). There is no total length: sets run to the
end of the datagram.
"""
from __future__ import annotations

import struct

from testbed.collector.model import FieldSpec, Finding, Header
from testbed.collector.sets import MIN_DATA_SET_ID, Malformed, Message, TemplateSpec, padding, walk

HEADER = struct.Struct("!HHIIII")  # version, count, sys_uptime, unix_secs, sequence, source id
TEMPLATE_SET, OPTIONS_SET = 0, 1
assert HEADER.size == 20


def parse(data: bytes) -> Message:
    """The header and sets of a v9 datagram; Malformed if its lengths make no sense."""
    if len(data) < HEADER.size:
        raise Malformed("too-short", f"{len(data)} bytes, a v9 header needs 20")
    version, count, uptime, secs, seq, source_id = HEADER.unpack_from(data)
    if version != 9:
        raise Malformed("bad-version", f"version {version}")
    header = Header(version, count, uptime, secs, 0, seq, 0, 0, 0, 0, source_id)
    findings: list = []

    def template_set(set_id: int, body: bytes, offset: int):
        if set_id == TEMPLATE_SET:
            return _templates(body, offset, findings)
        if set_id == OPTIONS_SET:
            return _options(body, offset, findings)
        return None

    sets, end = walk(data, HEADER.size, len(data), template_set, findings)
    if end < len(data):  # v9 has no length: say it, read what is there
        findings.append(Finding("trailing-bytes", f"{len(data) - end} octets after the last flowset "
                                                  f"({data[end:].hex()})"))
    return Message(header, tuple(sets), tuple(findings))


def _fields(body: bytes, pos: int, n: int) -> tuple[FieldSpec, ...]:
    return tuple(FieldSpec(0, t, length) for t, length in struct.iter_unpack("!HH", body[pos:pos + 4 * n]))


def _templates(body: bytes, offset: int, findings: list) -> tuple[TemplateSpec, ...]:
    out, pos = [], 0
    while len(body) - pos >= 4:
        tid, n = struct.unpack_from("!HH", body, pos)
        if tid < MIN_DATA_SET_ID or n == 0:
            raise Malformed("bad-template", f"template set at offset {offset}: template id {tid} with "
                                            f"{n} fields (ids start at 256, a template has fields)")
        if pos + 4 + 4 * n > len(body):
            raise Malformed("bad-template", f"template {tid} at offset {offset + 4 + pos}: {n} fields "
                                            f"run past its set")
        out.append(TemplateSpec(tid, _fields(body, pos + 4, n)))
        pos += 4 + 4 * n
    padding("template set", body[pos:], offset, findings)
    return tuple(out)


def _options(body: bytes, offset: int, findings: list) -> tuple[TemplateSpec, ...]:
    out, pos = [], 0
    while len(body) - pos >= 6:
        tid, scope_len, option_len = struct.unpack_from("!HHH", body, pos)
        if tid < MIN_DATA_SET_ID or scope_len % 4 or option_len % 4 or not scope_len + option_len:
            raise Malformed("bad-template", f"options template {tid} at offset {offset + 4 + pos}: scope "
                                            f"length {scope_len}, option length {option_len}")
        if pos + 6 + scope_len + option_len > len(body):
            raise Malformed("bad-template", f"options template {tid} at offset {offset + 4 + pos} runs "
                                            f"past its set")
        n_scope = scope_len // 4
        fields = _fields(body, pos + 6, n_scope + option_len // 4)
        out.append(TemplateSpec(tid, fields, n_scope, options=True))
        pos += 6 + scope_len + option_len
    padding("options template set", body[pos:], offset, findings)
    return tuple(out)
