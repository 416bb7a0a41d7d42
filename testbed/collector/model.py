"""The collector's values: header, flow record, finding, malformed datagram.

Frozen dataclasses with the names an operator reads in the v5 format table.
Times: `recv_ms`, `start_ms`, `end_ms`, `export_ms` are absolute unix
milliseconds; `first`, `last`, `sys_uptime` are exporter uptime ms as sent.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

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

    @property
    def export_ms(self) -> int:
        """The exporter's clock when it sent the datagram, unix ms (as nfdump)."""
        return self.unix_secs * 1000 + self.unix_nsecs // 1_000_000


@dataclass(frozen=True, slots=True)
class FlowRecord:
    """One v5 record with its datagram's context (exporter, header, receive time)."""

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
    exporter: str  # source address of the datagram
    recv_ms: int
    header: Header
    index: int  # position in its datagram, 0-based
    seq_status: str  # sequence status of the datagram that carried it
    findings: tuple[Finding, ...] = ()

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    @property
    def five_tuple(self) -> FiveTuple:
        return FiveTuple(self.src, self.dst, self.sport, self.dport, self.proto)


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


@dataclass(frozen=True, slots=True)
class Malformed:
    """A datagram that did not decode, kept whole for the report."""

    reason: str  # too-short, bad-version, bad-count, length-mismatch, collector-bug
    detail: str
    raw: bytes
    exporter: str
    port: int
    recv_ms: int
