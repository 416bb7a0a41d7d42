"""Export datagrams out of a capture file, for `collect --read`: UDP over IPv4 or
IPv6, in any link type the testbed's reader knows (Ethernet with VLAN tags,
Linux cooked SLL/SLL2, raw IP, BSD loopback), pcap or pcapng.

A big export datagram crosses a link in IP fragments: they are put together
again (bounded: at most `max_pending` datagrams and `max_bytes` octets in
pieces, each for `max_ms` of capture time) and a datagram whose pieces never
all came is counted, never fed half. Without ports, only UDP payloads that
start with a NetFlow version (5, 9, 10) are taken; with them, every datagram
to those ports. Whatever is not taken is counted by reason.
"""
from __future__ import annotations

import socket
import struct
from collections import Counter, OrderedDict
from typing import BinaryIO, Iterator, NamedTuple

from testbed.pcap import ETH_IPV4, ETH_IPV6, network_start, read

UDP = 17
VERSIONS = (b"\0\x05", b"\0\x09", b"\0\x0a")
V6_EXTENSIONS = {0, 43, 60}  # hop-by-hop, routing, destination options (the fragment header is 44)


class Datagram(NamedTuple):
    number: int  # the packet's number in the capture (from 1, as Wireshark counts; the last fragment's)
    recv_ms: int  # its capture time
    source: tuple[str, int]
    destination: tuple[str, int]
    payload: bytes


class _Pieces:
    def __init__(self, since_ms: int):
        self.since_ms = since_ms
        self.parts: dict[int, bytes] = {}  # offset -> octets
        self.end: int | None = None  # known once the last fragment came
        self.header: bytes = b""  # the transport header lives in the first fragment's payload


class Reader:
    """Walks a capture; `counts` says what was skipped and why, `fragments` what was put together."""

    def __init__(self, ports: set[int] | None = None, max_pending: int = 256, max_bytes: int = 16 << 20,
                 max_ms: int = 30_000):
        self.ports = ports
        self.max_pending, self.max_bytes, self.max_ms = max_pending, max_bytes, max_ms
        self.packets = 0
        self.counts: Counter[str] = Counter()  # skipped, by reason
        self.fragments: Counter[str] = Counter()  # reassembled, incomplete
        self._pending: OrderedDict[tuple, _Pieces] = OrderedDict()
        self._bytes = 0

    def datagrams(self, f: BinaryIO) -> Iterator[Datagram]:
        for cap in read(f):
            self.packets += 1
            now = cap.ts_ns // 1_000_000
            self._expire(now)
            found = network_start(cap.linktype, cap.data)
            if isinstance(found, str):
                self.counts[found] += 1
                continue
            off, ethertype = found
            if ethertype not in (ETH_IPV4, ETH_IPV6):
                self.counts[f"ethertype {ethertype:#06x}"] += 1
                continue
            ip = cap.data[off:]
            got = self._ipv4(ip, now) if ethertype == ETH_IPV4 else self._ipv6(ip, now)
            if isinstance(got, str):
                self.counts[got] += 1
                continue
            if got is None:  # a fragment kept for later
                continue
            src, dst, udp = got
            out = self._udp(udp, src, dst, self.packets, now)
            if isinstance(out, str):
                self.counts[out] += 1
            else:
                yield out
        for _ in range(len(self._pending)):
            self._drop("incomplete at the end of the capture")

    # -- IP ------------------------------------------------------------------------------

    def _ipv4(self, ip: bytes, now: int):
        if len(ip) < 20 or ip[0] >> 4 != 4 or (ip[0] & 15) < 5:
            return "malformed IPv4"
        ihl = (ip[0] & 15) * 4
        total, ident, frag = struct.unpack_from("!HHH", ip, 2)
        if ip[9] != UDP:
            return f"IP protocol {ip[9]}"
        if len(ip) < total:
            return "cut short by the capture (snap length)"
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        payload = ip[ihl:total]
        more, offset = frag & 0x2000, (frag & 0x1FFF) * 8
        if not more and not offset:
            return src, dst, payload
        return self._piece((4, src, dst, ident), offset, payload, more, now, src, dst)

    def _ipv6(self, ip: bytes, now: int):
        if len(ip) < 40 or ip[0] >> 4 != 6:
            return "malformed IPv6"
        length, nxt = struct.unpack_from("!HB", ip, 4)
        if len(ip) < 40 + length:
            return "cut short by the capture (snap length)"
        src, dst = socket.inet_ntop(socket.AF_INET6, ip[8:24]), socket.inet_ntop(socket.AF_INET6, ip[24:40])
        end, pos = 40 + length, 40
        frag = None
        while nxt in V6_EXTENSIONS or nxt == 44:
            if pos + 8 > end:
                return "malformed IPv6"
            if nxt == 44:
                offset_m, ident = struct.unpack_from("!HI", ip, pos + 2)
                frag, nxt, pos = (offset_m & 0xFFF8, offset_m & 1, ident), ip[pos], pos + 8
            else:
                nxt, pos = ip[pos], pos + 8 + ip[pos + 1] * 8
        if nxt != UDP:
            return f"IP protocol {nxt}"
        payload = ip[pos:end]
        if frag is None or (frag[0] == 0 and not frag[1]):
            return src, dst, payload
        return self._piece((6, src, dst, frag[2]), frag[0], payload, frag[1], now, src, dst)

    def _piece(self, key: tuple, offset: int, data: bytes, more: int, now: int, src: str, dst: str):
        p = self._pending.get(key)
        if p is None:
            p = self._pending[key] = _Pieces(now)
        if offset in p.parts:
            self.fragments["duplicate fragments"] += 1
            return None
        p.parts[offset] = data
        self._bytes += len(data)
        if not more:
            p.end = offset + len(data)
        while len(self._pending) > self.max_pending or self._bytes > self.max_bytes:
            self._drop("dropped: too many datagrams in pieces at once")
        if key not in self._pending or p.end is None:
            return None
        whole, at = bytearray(), 0
        for off in sorted(p.parts):
            if off > at:
                return None  # a piece is still missing
            whole += p.parts[off][at - off:]
            at = max(at, off + len(p.parts[off]))
        if at < p.end:
            return None
        del self._pending[key]
        self._bytes -= sum(len(d) for d in p.parts.values())
        self.fragments["reassembled datagrams"] += 1
        return src, dst, bytes(whole[:p.end])

    def _expire(self, now: int) -> None:
        while self._pending and now - next(iter(self._pending.values())).since_ms > self.max_ms:
            self._drop(f"incomplete after {self.max_ms / 1000:g} s")

    def _drop(self, why: str) -> None:
        _, p = self._pending.popitem(last=False)
        self._bytes -= sum(len(d) for d in p.parts.values())
        self.counts[f"IP fragments of a datagram never whole ({why})"] += 1

    # -- UDP ------------------------------------------------------------------------------

    def _udp(self, udp: bytes, src: str, dst: str, number: int, now: int) -> Datagram | str:
        if len(udp) < 8:
            return "malformed UDP"
        sport, dport, length = struct.unpack_from("!HHH", udp)
        if length < 8 or length > len(udp):
            return "malformed UDP"
        payload = udp[8:length]
        if self.ports is not None:
            if dport not in self.ports:
                return "UDP to another port"
        elif payload[:2] not in VERSIONS:
            return "UDP that is not NetFlow v5/v9/IPFIX"
        return Datagram(number, now, (src, sport), (dst, dport), payload)
