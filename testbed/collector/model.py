"""The collector's values: header, flow record, finding, malformed datagram; for
v9 and IPFIX also options records, template events and undecodable data sets.

Frozen dataclasses with the names an operator reads in the v5 format table:
one record model for every version (a v9/IPFIX record's other fields are in
`extra`, by information element name). Times: `recv_ms`, `start_ms`, `end_ms`,
`export_ms` are absolute unix milliseconds; `first`, `last`, `sys_uptime` are
exporter uptime ms as sent. `datagram` numbers the datagrams a collector
received, from 1 (a capture's packet number with `collect --read`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping, NamedTuple

# Sequence status of a datagram (see sequence.py).
FIRST = "first"
IN_ORDER = "in-order"
GAP = "gap"
DUPLICATE = "duplicate"
REORDERED = "reordered"
RESET = "reset"


@dataclass(frozen=True, slots=True)
class Finding:
    """One named violation. `code` is stable (tests and reports match on it)."""

    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class Header:
    """A datagram's header. v5 as on the wire; v9 and IPFIX in the same fields:
    count is v9's count (every record: template, options and data), for IPFIX
    the data records decoded (it has no count); IPFIX has no sys_uptime (0) and
    its export time is whole seconds; source_id is v9's Source ID, IPFIX's
    Observation Domain ID. flow_sequence is each protocol's sequence number."""

    version: int
    count: int
    sys_uptime: int
    unix_secs: int
    unix_nsecs: int
    flow_sequence: int
    engine_type: int
    engine_id: int
    sampling_mode: int  # top 2 bits of the sampling field: 0 none, 1 deterministic, 2 random
    sampling_interval: int  # low 14 bits
    source_id: int = 0  # v9 Source ID, IPFIX Observation Domain ID

    @property
    def domain(self) -> int:
        """Which of the exporter's streams (its sequence numbers count per stream): v5 the
        engine (type << 8 | id, as nfdump numbers it), v9 the source id, IPFIX the domain."""
        return (self.engine_type << 8 | self.engine_id) if self.version == 5 else self.source_id

    @property
    def export_ms(self) -> int:
        """The exporter's clock when it sent the datagram, unix ms (as nfdump)."""
        return self.unix_secs * 1000 + self.unix_nsecs // 1_000_000


class FlowRecord(NamedTuple):
    """One flow record, of any version, with its datagram's context (exporter, header,
    receive time). A named tuple, not a dataclass: the live collector makes 100,000 a
    second, and a frozen dataclass takes 7 times as long to build (`_replace` to change)."""

    src: str
    dst: str
    next_hop: str
    input: int
    output: int
    packets: int
    octets: int
    first: int  # exporter uptime ms, as sent
    last: int
    start_ms: int  # absolute unix ms, computed from first/last and the header
    end_ms: int
    sport: int
    dport: int
    tcp_flags: int
    proto: int
    tos: int
    src_as: int
    dst_as: int
    src_mask: int
    dst_mask: int
    # v9/IPFIX: every other field of the record, by information element name (values:
    # int, float, bool, str for addresses and strings, bytes for octets)
    extra: Mapping[str, Any]
    exporter: str  # source address of the datagram
    recv_ms: int
    header: Header
    index: int  # position in its datagram, 0-based
    seq_status: str  # sequence status of the datagram that carried it
    findings: tuple[Finding, ...] = ()
    datagram: int = 0  # the datagram that carried it (DatagramInfo.number)

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    @property
    def five_tuple(self) -> FiveTuple:
        return FiveTuple(self.src, self.dst, self.sport, self.dport, self.proto)


NO_EXTRA: Mapping[str, Any] = MappingProxyType({})


class FiveTuple(NamedTuple):
    src: str
    dst: str
    sport: int
    dport: int
    proto: int


@dataclass(frozen=True, slots=True)
class DatagramInfo:
    """A datagram that decoded: its header, sequence verdict and header findings."""

    exporter: str
    port: int
    recv_ms: int
    header: Header
    seq_status: str
    missing: int = 0  # records skipped before it (status gap)
    filled: int = 0  # records of an earlier gap it delivered (status reordered)
    reason: str = ""  # why a reset
    findings: tuple[Finding, ...] = ()
    number: int = 0  # the n-th datagram the collector received (from 1)
    contents: SetCounts | None = None  # v9/IPFIX: what its sets held


class SetCounts(NamedTuple):
    """What a v9/IPFIX datagram's sets held (its sequence number counts some of these)."""

    flows: int = 0  # data records of data templates
    options: int = 0  # data records of options templates
    templates: int = 0  # template and options template records, withdrawals included
    held: int = 0  # data sets whose template had not arrived (their records are not counted yet)


@dataclass(frozen=True, slots=True)
class Malformed:
    """A datagram that did not decode, kept whole for the report."""

    reason: str  # too-short, bad-version, bad-count, length-mismatch, bad-set-length, ..., collector-bug
    detail: str
    raw: bytes
    exporter: str
    port: int
    recv_ms: int
    number: int = 0


@dataclass(frozen=True, slots=True)
class OptionsRecord:
    """A data record of a v9/IPFIX options template: facts about the exporter (sampling
    interval, exporter statistics, its boot time), scoped by `scope`."""

    exporter: str
    port: int
    recv_ms: int
    header: Header
    datagram: int
    template_id: int
    scope: Mapping[str, Any] = field(hash=False)
    values: Mapping[str, Any] = field(hash=False)
    findings: tuple[Finding, ...] = ()


# TemplateEvent.action
DEFINE, WITHDRAW, WITHDRAW_ALL = "define", "withdraw", "withdraw-all"


class FieldSpec(NamedTuple):
    """One field of a template: (enterprise number, information element id, length);
    length 65535 is variable-length."""

    pen: int
    id: int
    length: int


@dataclass(frozen=True, slots=True)
class TemplateEvent:
    """A template record as received: a (re)definition or a withdrawal (IPFIX)."""

    datagram: int
    exporter: str
    port: int
    recv_ms: int
    export_ms: int
    version: int
    domain: int  # v9 source id, IPFIX observation domain
    template_id: int  # withdraw-all: the set id (2: templates, 3: options templates)
    action: str  # define, withdraw, withdraw-all
    options: bool = False  # an options template (or, withdrawn: of an options template set)
    scope_count: int = 0  # an options template's scope fields (the first ones)
    fields: tuple[FieldSpec, ...] = ()

    @property
    def layout(self) -> tuple:
        return self.options, self.scope_count, self.fields


# Undecoded.reason
NO_TEMPLATE = "no_template"


@dataclass(frozen=True, slots=True)
class Undecoded:
    """A v9/IPFIX data set that never became records."""

    datagram: int
    exporter: str
    port: int
    recv_ms: int
    version: int
    domain: int
    template_id: int
    length: int  # octets of the set's records
    reason: str  # no_template, bad-length
    detail: str
    at_ms: int  # when the collector gave up on it
