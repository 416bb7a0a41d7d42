"""What a v9 or IPFIX sequence number counts: the protocol's rule, and the wrong
things exporters are seen to count instead.

RFC 3954 5.1 (v9): "Incremental sequence counter of all Export Packets sent
from the current Observation Domain by the Exporter" - one per datagram, per
Source ID; where it starts is not said (0 or 1 both conform).
RFC 7011 3.1 with erratum 4396 and 10.3.2 (IPFIX over UDP): the number of
Data Records sent in the Transport Session from the Observation Domain
"prior to the receipt of this IPFIX Message"; "Template and Options Template
Records do not increase the Sequence Number". Data Records of options
templates are Data Records (section 2): they do count.

Each rule turns a datagram's contents into how far it moves the count, and
says whether the number in its header already includes its own.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

from testbed.collector.model import SetCounts


class Rule(NamedTuple):
    name: str
    text: str  # what the exporter counts, as a finding says it
    count: Callable[[SetCounts], int | None]  # None: unknown (a set waits for its template)
    current: bool  # the header's number includes this datagram's own
    conforms: bool  # the protocol's own rule
    unit: str  # what a gap is counted in


def _known(f: Callable[[SetCounts], int]) -> Callable[[SetCounts], int | None]:
    return lambda c: None if c.held else f(c)


_DATA = _known(lambda c: c.flows + c.options)
_FLOWS = _known(lambda c: c.flows)
_ALL = _known(lambda c: c.flows + c.options + c.templates)


def _one(_c: SetCounts) -> int:
    return 1


V9 = (
    Rule("packets", "export packets (RFC 3954 5.1)", _one, False, True, "datagrams"),
    Rule("packets from 1", "export packets, the first one numbered 1", _one, True, True, "datagrams"),
    Rule("flow records", "flow records sent before this packet, not export packets", _FLOWS, False, False,
         "records"),
    Rule("flow records with its own", "flow records sent, this packet's included, not export packets",
         _FLOWS, True, False, "records"),
    Rule("records", "records of every kind (templates too), not export packets", _ALL, False, False,
         "records"),
    Rule("records with its own", "records of every kind, this packet's included, not export packets",
         _ALL, True, False, "records"),
)

IPFIX = (
    Rule("data records", "data records sent before this message (RFC 7011 3.1, erratum 4396)", _DATA, False,
         True, "records"),
    Rule("data records with its own", "data records sent with this message's own included (RFC 7011 3.1 "
         "with erratum 4396 and 10.3.2: those sent prior to this message)", _DATA, True, False, "records"),
    Rule("flow records", "only data records of data templates (RFC 7011 3.1: options template data records "
         "are data records and count too)", _FLOWS, False, False, "records"),
    Rule("flow records with its own", "only data records of data templates, this message's own included "
         "(RFC 7011 3.1: those sent prior to this message, options template data records too)", _FLOWS, True,
         False, "records"),
    Rule("records", "template records too (RFC 7011 3.1: template and options template records do not "
         "increase the sequence number)", _ALL, False, False, "records"),
    Rule("records with its own", "template records and this message's own too (RFC 7011 3.1: data records "
         "sent prior to this message only)", _ALL, True, False, "records"),
    Rule("messages", "messages, not data records (RFC 7011 3.1 counts data records)", _one, False, False,
         "datagrams"),
)

RULES = {9: V9, 10: IPFIX}


def position(rule: Rule, seq: int, c: SetCounts) -> tuple[int, int | None]:
    """(where the datagram's records start, how many it moves the count) under `rule`."""
    n = rule.count(c)
    if rule.current:
        return (seq - (n if n is not None else 0)) & 0xFFFFFFFF, n
    return seq, n
