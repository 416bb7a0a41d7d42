"""A v9 or IPFIX datagram read as its sets (v9.py and ipfix.py walk them).

Only structure here: a template set's records are read field by field, a data
set stays bytes until its template is known (templated.py). A nonsensical
length anywhere rejects the whole datagram (RFC 7011 9.1: a set longer than
its message, a template running past its set); what the exporter got wrong
but can still be read (padding that is not zero, a reserved set id) is a
finding on the datagram.
"""
from __future__ import annotations

import struct
from typing import NamedTuple

from testbed.collector.model import FieldSpec, Finding, Header

SET_HEADER = struct.Struct("!HH")
MIN_DATA_SET_ID = 256


class TemplateSpec(NamedTuple):
    template_id: int
    fields: tuple[FieldSpec, ...]
    scope_count: int = 0  # options templates: the first fields are the scope
    options: bool = False
    withdraw: bool = False  # IPFIX: a withdrawal (all of a kind when template_id is its set id)


class SetView(NamedTuple):
    set_id: int
    offset: int  # where the set starts in the datagram
    body: bytes  # a data set's records (after its 4-octet header)
    templates: tuple[TemplateSpec, ...] = ()  # a template or options template set's records


class Message(NamedTuple):
    header: Header
    sets: tuple[SetView, ...]
    findings: tuple[Finding, ...]


class Malformed(Exception):
    """Why a datagram cannot be read (a reason code and a detail)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def walk(data: bytes, start: int, end: int, template_set, findings: list[Finding]) -> tuple[list[SetView], int]:
    """The sets between `start` and `end`, and where they stopped. `template_set(set_id, body,
    offset)` reads a template set (None: not one). Fewer than 4 octets left over are the
    caller's to judge."""
    out, pos = [], start
    while end - pos >= SET_HEADER.size:
        set_id, length = SET_HEADER.unpack_from(data, pos)
        if length < SET_HEADER.size or pos + length > end:
            raise Malformed("bad-set-length", f"set {set_id} at offset {pos} has length {length}, "
                                              f"{end - pos} octets left")
        body = data[pos + 4:pos + length]
        templates = template_set(set_id, body, pos)
        if templates is not None:
            out.append(SetView(set_id, pos, b"", templates))
        elif set_id >= MIN_DATA_SET_ID:
            out.append(SetView(set_id, pos, body))
        else:
            findings.append(Finding("reserved-set-id", f"set id {set_id} at offset {pos} is reserved: "
                                                       f"its {length} octets skipped"))
        pos += length
    return out, pos


def padding(what: str, pad: bytes, offset: int, findings: list[Finding]) -> None:
    """Padding must be zeros (RFC 7011 3.3.1, RFC 3954 5.3); other octets are a finding."""
    if pad.strip(b"\0"):
        findings.append(Finding("nonzero-padding", f"{what} at offset {offset}: padding {pad.hex()} is not zero"))
