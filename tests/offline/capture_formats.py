"""Write the same packets in other capture formats (written by hand, from the
format specs, so the probe's reader is checked against an independent writer)."""
from __future__ import annotations

import struct

ETH_HEADER = 14


def read_classic(path: str) -> list[tuple[int, bytes]]:
    """(unix ns, Ethernet frame) of a little-endian microsecond pcap (what gen writes)."""
    with open(path, "rb") as f:
        data = f.read()
    assert struct.unpack_from("<I", data)[0] == 0xA1B2C3D4
    out, pos = [], 24
    while pos < len(data):
        sec, usec, caplen, _ = struct.unpack_from("<IIII", data, pos)
        out.append((sec * 10**9 + usec * 1000, data[pos + 16:pos + 16 + caplen]))
        pos += 16 + caplen
    return out


def sll(ip: bytes, pkttype: int = 0, *, protocol: int = 0x0800, tags: bytes = b"",
        addr: bytes = bytes(8)) -> bytes:
    """DLT_LINUX_SLL: packet type (4: sent by the capturing host), ARPHRD, address
    length, address, then the VLAN tags libpcap puts back, protocol."""
    return struct.pack("!HHH8s", pkttype, 1, 6, addr) + tags + struct.pack("!H", protocol) + ip


def sll2(ip: bytes, ifindex: int = 0, pkttype: int = 0, *, protocol: int = 0x0800,
         addr: bytes = bytes(8)) -> bytes:
    """DLT_LINUX_SLL2: protocol, reserved, ifindex, ARPHRD, packet type, address length, address."""
    return struct.pack("!HHIHBB8s", protocol, 0, ifindex, 1, pkttype, 6, addr) + ip


def relink(frame: bytes, linktype: int) -> bytes:
    """An Ethernet/IPv4 frame as `linktype` would have captured it."""
    ip = frame[ETH_HEADER:]
    if linktype == 1:
        return frame
    if linktype == 101:  # DLT_RAW
        return ip
    if linktype == 113:
        return sll(ip, addr=frame[6:12] + b"\0\0")
    if linktype == 276:
        return sll2(ip, 2, addr=frame[6:12] + b"\0\0")
    raise ValueError(linktype)


def pcap_bytes(records, linktype: int = 1, nanos: bool = False, endian: str = "<",
               snaplen: int = 65535) -> bytes:
    """A classic pcap of (ts_ns, data, length on the wire) records; `linktype` is
    the header's field (its upper 16 bits may carry FCS bits)."""
    out = [struct.pack(endian + "IHHiIII", 0xA1B23C4D if nanos else 0xA1B2C3D4, 2, 4, 0, 0,
                       snaplen, linktype)]
    for ts_ns, data, wire_len in records:
        sec, frac = divmod(ts_ns, 10**9)
        frac = frac if nanos else frac // 1000
        out.append(struct.pack(endian + "IIII", sec, frac, len(data), wire_len) + data)
    return b"".join(out)


def write_pcap(path: str, packets, linktype: int = 1, nanos: bool = False,
               endian: str = "<") -> None:
    records = [(ts_ns, data, len(data)) for ts_ns, data in
               ((ts_ns, relink(frame, linktype & 0xFFFF)) for ts_ns, frame in packets)]
    with open(path, "wb") as f:
        f.write(pcap_bytes(records, linktype, nanos, endian))


def _block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def _ticks(tsresol: int | None) -> int:
    """Ticks per second of an if_tsresol byte (None: no option, which means us)."""
    if tsresol is None:
        return 10**6
    return 2 ** (tsresol & 0x7F) if tsresol & 0x80 else 10 ** tsresol


def pcapng_bytes(interfaces, packets) -> bytes:
    """One little-endian section. interfaces: (linktype, if_name or None, if_tsresol
    byte or None); packets: (interface id, ts_ns, data, length on the wire)."""
    out = [_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))]
    for linktype, name, tsresol in interfaces:
        opts = b""
        if name is not None:
            opts += struct.pack("<HH", 2, len(name)) + name.encode() + bytes(-len(name) % 4)
        if tsresol is not None:
            opts += struct.pack("<HHB3x", 9, 1, tsresol)
        if opts:
            opts += struct.pack("<HH", 0, 0)
        out.append(_block(1, struct.pack("<HHI", linktype, 0, 0) + opts))
    for iface, ts_ns, data, wire_len in packets:
        ts = ts_ns * _ticks(interfaces[iface][2]) // 10**9
        out.append(_block(6, struct.pack("<IIIII", iface, ts >> 32, ts & 0xFFFFFFFF,
                                         len(data), wire_len) + data))
    return b"".join(out)


def write_pcapng(path: str, packets, linktype: int = 1, tsresol: int | None = 6) -> None:
    """One section, one interface; `tsresol` is the if_tsresol byte (None: no option,
    which means microseconds; 9: ns; 0x80 | n: 2^-n s)."""
    data = [relink(frame, linktype) for _, frame in packets]
    with open(path, "wb") as f:
        f.write(pcapng_bytes([(linktype, None, tsresol)],
                             [(0, ts_ns, d, len(d)) for (ts_ns, _), d in zip(packets, data)]))
