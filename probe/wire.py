"""What one of our export datagrams says about itself, whatever its version:
for the sender's counts (also from the start of a datagram an ICMP error
quotes) and the records file. Only ever given datagrams this probe built."""
from __future__ import annotations

from typing import NamedTuple

from . import v5, v9
from .constants import V5_VERSION, V9_VERSION

# enough of a datagram to know its counts: v5's header, or v9's and the next set's id
QUOTE = max(v5.HEADER.size, v9.HEADER.size + 2)


class Facts(NamedTuple):
    version: int
    records: int  # flow records (not templates)
    templates: int
    sequence: int  # v5: records before this datagram; v9: datagrams before it
    sys_uptime: int  # ms
    export_ms: int  # the header's unix time: v9 carries whole seconds only


def facts(data: bytes) -> Facts:
    """The facts of a datagram, or of its first QUOTE bytes (a cut one says
    what it can; anything shorter than a header: zeros)."""
    version = int.from_bytes(data[:2], "big")
    if version == V5_VERSION and len(data) >= v5.HEADER.size:
        _, count, uptime, secs, nsecs, seq, *_ = v5.HEADER.unpack_from(data)
        return Facts(version, count, 0, seq, uptime, secs * 1000 + nsecs // 1_000_000)
    if version == V9_VERSION and len(data) >= v9.HEADER.size:
        _, count, uptime, secs, seq, _ = v9.HEADER.unpack_from(data)
        templates = int(v9.carries_template(data))
        return Facts(version, count - templates, templates, seq, uptime, secs * 1000)
    return Facts(version, 0, 0, 0, 0, 0)
