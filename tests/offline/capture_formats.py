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


def relink(frame: bytes, linktype: int) -> bytes:
    """An Ethernet/IPv4 frame as `linktype` would have captured it."""
    ip = frame[ETH_HEADER:]
    if linktype == 1:
        return frame
    if linktype == 101:  # DLT_RAW
        return ip
    if linktype == 113:  # DLT_LINUX_SLL: pkttype, ARPHRD, addr len, addr[8], protocol
        return struct.pack("!HHH8sH", 0, 1, 6, frame[6:12] + b"\0\0", 0x0800) + ip
    if linktype == 276:  # DLT_LINUX_SLL2: protocol, reserved, ifindex, ARPHRD, pkttype, len, addr
        return struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, frame[6:12] + b"\0\0") + ip
    raise ValueError(linktype)


def write_pcap(path: str, packets, linktype: int = 1, nanos: bool = False,
               endian: str = "<") -> None:
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    with open(path, "wb") as f:
        f.write(struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype))
        for ts_ns, frame in packets:
            data = relink(frame, linktype)
            sec, frac = divmod(ts_ns, 10**9)
            frac = frac if nanos else frac // 1000
            f.write(struct.pack(endian + "IIII", sec, frac, len(data), len(data)) + data)


def _block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def write_pcapng(path: str, packets, linktype: int = 1, tsresol: int | None = 6) -> None:
    """One section, one interface; `tsresol` is the if_tsresol byte (None: no option,
    which means microseconds; 9: ns; 0x80 | n: 2^-n s)."""
    ticks = 10**6 if tsresol is None else (2 ** (tsresol & 0x7F) if tsresol & 0x80
                                           else 10 ** tsresol)
    opts = b""
    if tsresol is not None:
        opts = struct.pack("<HHB3x", 9, 1, tsresol) + struct.pack("<HH", 0, 0)
    with open(path, "wb") as f:
        f.write(_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
        f.write(_block(1, struct.pack("<HHI", linktype, 0, 0) + opts))
        for ts_ns, frame in packets:
            data = relink(frame, linktype)
            ts = ts_ns * ticks // 10**9
            f.write(_block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF,
                                          len(data), len(data)) + data))
