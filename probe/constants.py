"""One home for the probe's numbers: ng_netflow's defaults and limits, the link
types it reads, why a frame is skipped, why a flow expired, and the NetFlow v5
and v9 layouts, as tables.

`probe/constants.pxd` mirrors this module for the compiled engine
(probe/fast/_engine.pyx cimports it). It is generated, never edited: `python -m
probe.mirror` writes it, and tests/fast/test_constants_mirror.py fails when it
no longer says what this module says (and when the compiled engine was built
from another one).
"""
from __future__ import annotations

import struct
from enum import IntEnum
from typing import NamedTuple

# -- ng_netflow's defaults (ng_netflow(4); `--active-timeout` etc. default to these)
INACTIVE_MS = 15_000
ACTIVE_MS = 1_800_000
SCAN_MS = 1_000  # its expiry callout runs once a second
MAX_FLOWS = 262_144

# -- limits
U16_MAX = 0xFFFF
U32_MAX = 0xFFFFFFFF
MAX_FLOWS_LIMIT = 1 << 30  # the compiled table's 32-bit indexes, with room
ENGINE_MAX = 255  # v5 engine_type and engine_id are one byte each
IFINDEX_MAX = U16_MAX  # v5 carries 16-bit ifindexes: past it, clamped and counted
IF_MAXMTU = 65535
# ng_netflow expires a flow before its 32-bit octet counter can wrap:
# UINT_MAX - IF_MAXMTU, so that one more packet always fits
OCTETS_LIMIT = U32_MAX - IF_MAXMTU
GSO_MAX_SIZE = 8 * 65535  # Linux's GSO_MAX_SIZE: the largest (BIG TCP) IPv4 packet
MAX_CATCHUP_SCANS = 100_000  # the clock jumped further ahead: one scan, not all
MAX_SECONDS = 2**32 // 1000  # a timeout an operator may give: v5 times are 32-bit ms
MIN_SECONDS = 0.001  # the engines count whole milliseconds: less would round to 0
# the live capture ring (pinned kernel memory): a standalone probe and its benchmark keep
# 8 MiB (32 blocks of 256 KiB); `--ring` sizes it to what a link sends
RING_BYTES = 8 << 20
RING_BLOCK = 256 << 10  # the largest block; a smaller ring has RING_MIN_BLOCKS smaller ones
RING_MIN_BLOCKS = 8  # the kernel fills one block while the probe reads the others
RING_MIN = 64 << 10
RING_MAX = 1 << 30

# -- offline export pacing (probe/pacing.py)
EXPORT_RATE = 5000  # datagrams/s by default: a collector reading as fast keeps up
# A collector's socket with Linux's default buffer (net.core.rmem_default) holds
# 212992 B of what the kernel charges: a full v5 datagram (1464 B) costs 2304 B
# (its data in a 2 KiB slab, and the sk_buff), so 92 fit on loopback. A burst of
# two thirds of that leaves room for a collector that is a little late to read.
RMEM_DEFAULT = 212_992
DATAGRAM_TRUESIZE = 2_304
PACE_BURST = RMEM_DEFAULT // DATAGRAM_TRUESIZE * 2 // 3  # 61 datagrams at once
FLUSH_FLOWS = 30 * PACE_BURST  # the final flush, a burst's records at a time

# -- headers: IPv4 and what follows it, and each link type's
TCP, UDP, ICMP = 6, 17, 1
TH_FIN, TH_RST = 0x01, 0x04
IP_OFFMASK = 0x1FFF
IPV4_HEADER = 20  # without options
TCP_HEADER = 20  # a TCP or UDP header shorter than this is "truncated" (as the seed)
UDP_HEADER = 8
ICMP_TYPE_CODE = 2  # what `icmp_ports` reads: type*256 + code in the dst port
ETH_HEADER = 14
SLL_HEADER = 16
SLL2_HEADER = 20
VLAN_TAG = 4
ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
VLAN_8021Q, VLAN_8021AD, VLAN_QINQ = 0x8100, 0x88A8, 0x9100  # the tags decode walks
VLAN_TAGS = (VLAN_8021Q, VLAN_8021AD, VLAN_QINQ)
MAX_VLAN_TAGS = 2  # Ethernet and SLL: QinQ at most
PACKET_OUTGOING = 4  # sll_pkttype: sent by the capturing host

# -- pcap link types the probe reads
DLT_EN10MB = 1
DLT_RAW = 101  # raw IP, as libpcap writes it on every platform
DLT_RAW_BSD = 12  # some writers use the old BSD value
DLT_IPV4 = 228
DLT_LINUX_SLL = 113
DLT_LINUX_SLL2 = 276
LINKTYPES = frozenset({DLT_EN10MB, DLT_RAW, DLT_RAW_BSD, DLT_IPV4, DLT_LINUX_SLL, DLT_LINUX_SLL2})


class Reason(IntEnum):
    """A reason the probe counts by; `label` is its name in statistics and files."""

    @property
    def label(self) -> str:
        return self.name.lower()


class Skip(Reason):
    """Why a frame was not accounted (Stats.skipped). 0 is no reason: a packet."""

    SHORT_LINK_HEADER = 1
    TOO_MANY_VLAN_TAGS = 2
    NOT_IPV4 = 3
    UNSUPPORTED_LINKTYPE = 4
    SHORT_IP_HEADER = 5
    EMPTY_IP = 6
    BAD_IP_VERSION = 7
    BAD_IHL = 8
    BAD_TOTAL_LENGTH = 9
    OUTGOING = 10
    TRUNCATED_L4_HEADER = 11  # the truncated-first-fragment quirk only


class Expiry(Reason):
    """Why a flow left the cache (Stats.exported; the records file's `reason`)."""

    TCP_FIN_RST = 0
    ACTIVE = 1
    COUNTER_OVERFLOW = 2
    EVICTED = 3
    INACTIVE = 4
    FLUSH = 5  # an operator's flush (control socket)
    SHUTDOWN = 6  # the end of the input, or a signal


# -- NetFlow v5 (the table in FIELD-BUGS.md): a 24-byte header, then `count`
# 48-byte records, big-endian. The collector in testbed/ has its own on purpose.
class Field(NamedTuple):
    name: str  # as probe.export.Record names it, where a Record has it
    fmt: str  # struct format of the field: B, H or I


V5_VERSION = 5
V5_MAX_RECORDS = 30
V5_HEADER = (
    Field("version", "H"), Field("count", "H"), Field("sys_uptime", "I"),
    Field("unix_secs", "I"), Field("unix_nsecs", "I"), Field("flow_sequence", "I"),
    Field("engine_type", "B"), Field("engine_id", "B"), Field("sampling_interval", "H"),
)
V5_RECORD = (
    Field("src", "I"), Field("dst", "I"), Field("next_hop", "I"),
    Field("input", "H"), Field("output", "H"), Field("packets", "I"), Field("octets", "I"),
    Field("first", "I"), Field("last", "I"), Field("sport", "H"), Field("dport", "H"),
    Field("pad1", "B"), Field("tcp_flags", "B"), Field("proto", "B"), Field("tos", "B"),
    Field("src_as", "H"), Field("dst_as", "H"), Field("src_mask", "B"), Field("dst_mask", "B"),
    Field("pad2", "H"),
)


def layout(fields: tuple[Field, ...]) -> struct.Struct:
    return struct.Struct("!" + "".join(f.fmt for f in fields))


def offsets(fields: tuple[Field, ...]) -> dict[str, int]:
    """Each field's byte offset (the compiled engine writes at these)."""
    out, at = {}, 0
    for f in fields:
        out[f.name] = at
        at += struct.calcsize("!" + f.fmt)
    return out


V5_HEADER_SIZE = layout(V5_HEADER).size
V5_RECORD_SIZE = layout(V5_RECORD).size
assert (V5_HEADER_SIZE, V5_RECORD_SIZE) == (24, 48)


# -- NetFlow v9 (RFC 3954), as FreeBSD's netflow_v9.c sends it: a 20-byte
# header; in the first datagram and again every V9_TEMPLATE_PACKETS datagrams
# or V9_TEMPLATE_S seconds (its defaults), the template set; then one data set
# of records, padded to 4 bytes; at most V9_MAX_DATAGRAM bytes (its BASE_MTU,
# 1500, less IPv6 and UDP headers and 16 bytes for IP options).
class IE(NamedTuple):
    """One field of the template: a v9 field type (RFC 3954 section 8)."""

    name: str  # as probe.export.Record names it (icmp_type: an ICMP flow's dport, else 0)
    fmt: str  # struct format: the field's length
    id: int  # the field type
    ie: str  # RFC 3954's name


V9_VERSION = 9
V9_TEMPLATE_SET_ID = 0  # a template flowset (RFC 3954 section 5.2)
V9_TEMPLATE_ID = 256  # netflow_v9.c's IPv4 template: NETFLOW_V9_MAX_RESERVED_FLOWSET + 1
V9_MAX_DATAGRAM = 1500 - 40 - 8 - 16
V9_TEMPLATE_PACKETS = 500  # NETFLOW_V9_MAX_PACKETS_TEMPL
V9_TEMPLATE_S = 600  # NETFLOW_V9_MAX_TIME_TEMPL
V9_HEADER = (
    Field("version", "H"), Field("count", "H"), Field("sys_uptime", "I"),
    Field("unix_secs", "I"), Field("sequence", "I"), Field("source_id", "I"),
)
V9_SET_HEADER = (Field("set_id", "H"), Field("length", "H"))
# The template: everything a v5 record carries, in netflow_v9.c's order and
# lengths (32-bit counters, sysUpTime first/last, 16-bit ifindexes, 32-bit AS).
# netflow_v9.c also sends OUT_PKTS and OUT_BYTES, always 0: left out here.
# ICMP_TYPE last: type*256 + code, as the dst port carries it (v5's convention,
# Cisco's in v9 too); nfdump reads a v9 ICMP flow's type and code from it only.
V9_RECORD = (
    IE("src", "I", 8, "IPV4_SRC_ADDR"),
    IE("dst", "I", 12, "IPV4_DST_ADDR"),
    IE("next_hop", "I", 15, "IPV4_NEXT_HOP"),
    IE("input", "H", 10, "INPUT_SNMP"),
    IE("output", "H", 14, "OUTPUT_SNMP"),
    IE("packets", "I", 2, "IN_PKTS"),
    IE("octets", "I", 1, "IN_BYTES"),
    IE("first", "I", 22, "FIRST_SWITCHED"),
    IE("last", "I", 21, "LAST_SWITCHED"),
    IE("sport", "H", 7, "L4_SRC_PORT"),
    IE("dport", "H", 11, "L4_DST_PORT"),
    IE("tcp_flags", "B", 6, "TCP_FLAGS"),
    IE("proto", "B", 4, "PROTOCOL"),
    IE("tos", "B", 5, "SRC_TOS"),
    IE("src_as", "I", 16, "SRC_AS"),
    IE("dst_as", "I", 17, "DST_AS"),
    IE("src_mask", "B", 9, "SRC_MASK"),
    IE("dst_mask", "B", 13, "DST_MASK"),
    IE("icmp_type", "H", 32, "ICMP_TYPE"),
)
V9_HEADER_SIZE = layout(V9_HEADER).size
V9_SET_HEADER_SIZE = layout(V9_SET_HEADER).size
V9_RECORD_SIZE = layout(V9_RECORD).size
# the template set: set header, template id and field count, (type, length) per field
V9_TEMPLATE_SET_SIZE = V9_SET_HEADER_SIZE + 4 + 4 * len(V9_RECORD)


def v9_capacity(template: bool) -> int:
    """Records that fit a datagram (with the template set, or without)."""
    room = V9_MAX_DATAGRAM - V9_HEADER_SIZE - V9_SET_HEADER_SIZE
    room -= V9_TEMPLATE_SET_SIZE if template else 0
    n = room // V9_RECORD_SIZE
    while (V9_SET_HEADER_SIZE + n * V9_RECORD_SIZE + 3) // 4 * 4 > room + V9_SET_HEADER_SIZE:
        n -= 1  # the padding to 4 bytes must fit too
    return n


V9_RECORDS_WITH_TEMPLATE = v9_capacity(True)
V9_RECORDS_WITHOUT_TEMPLATE = v9_capacity(False)
assert (V9_HEADER_SIZE, V9_RECORD_SIZE, V9_TEMPLATE_SET_SIZE) == (20, 51, 84)
assert (V9_RECORDS_WITH_TEMPLATE, V9_RECORDS_WITHOUT_TEMPLATE) == (26, 27)
# the compiled engine's datagram buffer holds either format's largest
MAX_DATAGRAM = max(V5_HEADER_SIZE + V5_MAX_RECORDS * V5_RECORD_SIZE, V9_MAX_DATAGRAM)
