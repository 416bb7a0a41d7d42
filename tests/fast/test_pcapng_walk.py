"""The compiled pcapng walk against the reference reader on random pcapng
files: both byte orders, several sections and interfaces (Ethernet, raw,
SLL, SLL2; with and without if_name), every timestamp unit (those the walk
takes and those it hands back), original lengths (BIG TCP), obsolete and
simple packet blocks, unknown blocks, and damage (a cut anywhere, a bad
block length, an unknown interface, a packet block too short for its
fields); each packet's input ifindex by interface id, SLL2 header, `--ifindex
NAME=N` or `--ifindex N`."""
from __future__ import annotations

import io
import struct

import pytest
from hypothesis import assume, given, settings, strategies as st
from test_captures import CONFIGS, same
from wire import frames

from probe.fast.offline import MAX_MS
from probe.pcapfile import PcapError, read


def block(e: str, btype: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    n = len(body) + 12
    return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)


def shb(e: str) -> bytes:
    return block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(e: str, linktype: int, tsresol: int | None, name: str | None = None) -> bytes:
    opts = b""
    if name is not None:  # if_name
        opts += struct.pack(e + "HH", 2, len(name)) + name.encode() + bytes(-len(name) % 4)
    if tsresol is not None:
        opts += struct.pack(e + "HHB3x", 9, 1, tsresol)
    if opts:
        opts += struct.pack(e + "HH", 0, 0)
    return block(e, 1, struct.pack(e + "HHI", linktype, 0, 0) + opts)


def epb(e: str, iface: int, ts: int, data: bytes, caplen: int | None = None,
        wire: int = 0) -> bytes:
    caplen = len(data) if caplen is None else caplen
    return block(e, 6, struct.pack(e + "IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, caplen,
                                   wire or len(data)) + data)


def opb(e: str, iface: int, ts: int, data: bytes, wire: int = 0) -> bytes:
    return block(e, 2, struct.pack(e + "HHIIII", iface, 0, ts >> 32, ts & 0xFFFFFFFF, len(data),
                                   wire or len(data)) + data)


def spb(e: str, data: bytes) -> bytes:
    return block(e, 3, struct.pack(e + "I", len(data)) + data)


UNITS = [None, 6, 9, 3, 0, 0x80 | 10, 12]  # us (default), ns, ms, s, 2^-10 s, 10^-12 s
NAMES = [None, "eth0", "eth1", "any"]
IFINDEX_OPTIONS = [  # (fixed, names): `--ifindex N` or `--ifindex NAME=N...`
    (None, None), (None, None), (7, None),
    (None, {"eth0": 5}), (None, {"eth1": 70, "any": 9, "eth9": 4}),
]


@st.composite
def pcapng_files(draw):
    out = []
    for _ in range(draw(st.integers(1, 2))):  # sections
        e = draw(st.sampled_from("<>"))
        out.append(shb(e))
        nif = draw(st.integers(0, 3))
        linktypes = [draw(st.sampled_from([1, 1, 101, 113, 276])) for _ in range(nif)]
        for lt in linktypes:
            out.append(idb(e, lt, draw(st.sampled_from(UNITS)), draw(st.sampled_from(NAMES))))
        ts = draw(st.integers(0, 2 ** 52))  # below 2^63 ms in every unit (see the last test)
        for _ in range(draw(st.integers(0, 25))):
            ts += draw(st.integers(0, 5 * 10 ** 6))
            kind = draw(st.sampled_from(["epb"] * 8 + ["opb", "spb", "unknown", "short", "cut"]))
            iface = draw(st.integers(0, nif)) if draw(st.integers(0, 9)) == 0 else \
                draw(st.integers(0, max(0, nif - 1)))
            own = iface < nif and draw(st.integers(0, 4)) > 0  # mostly the interface's link type
            data, _, wire = draw(frames(linktype=linktypes[iface] if own else None))
            if kind == "epb":
                out.append(epb(e, iface, ts, data, wire=wire))
            elif kind == "cut":  # caplen past the block's end: the reader slices
                out.append(epb(e, iface, ts, data, caplen=len(data) + 40, wire=wire))
            elif kind == "opb":
                out.append(opb(e, iface, ts, data, wire=wire))
            elif kind == "spb":
                out.append(spb(e, data))
            elif kind == "short":
                out.append(block(e, 6, bytes(draw(st.sampled_from([0, 4, 16])))))
            else:
                out.append(block(e, 0x99, data))
    blob = b"".join(out)
    damage = draw(st.sampled_from(["none"] * 6 + ["cut", "length"]))
    if damage == "cut":
        blob = blob[:draw(st.integers(0, len(blob)))]
    elif damage == "length" and len(blob) > 40:
        at = draw(st.integers(28, len(blob) - 4))
        blob = blob[:at] + struct.pack("<I", draw(st.sampled_from([13, 8, 0x10000]))) + blob[at + 4:]
    return blob


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(pcapng_files(), st.sampled_from(sorted(CONFIGS)), st.sampled_from(IFINDEX_OPTIONS))
def test_pcapng_walk_reads_as_the_reference(blob, config, ifindex):
    assume(not _past_64_bit_ms(blob))  # damage can make one; the last test shows what then
    same(blob, CONFIGS[config], fixed=ifindex[0], names=ifindex[1])


def _past_64_bit_ms(blob: bytes) -> bool:
    """Whether the reference reader finds a timestamp past 2^63 ms in `blob`."""
    try:
        return any(f.ts_ns // 1_000_000 > MAX_MS for f in read(io.BytesIO(blob)))
    except PcapError:
        return False


def test_a_timestamp_past_64_bit_milliseconds_is_damage(tmp_path):
    """Seconds since the epoch near 2^64: the reference engine's Python ints take
    it, the fast engine's clock cannot; one clear error, what came before is
    exported."""
    from probe.engine import Config
    from probe.fast.engine import FastProbe
    from probe.fast.offline import run_file

    data = bytes(12) + b"\x08\x00" + bytes(20)
    blob = shb("<") + idb("<", 1, 0) + epb("<", 0, 1_700_000_000, data) + epb("<", 0, 2 ** 63, data)
    with pytest.raises(PcapError) as exc:
        run_file(io.BytesIO(blob), lambda s: FastProbe(Config(), None, s), lambda d: None)
    assert str(exc.value) == f"timestamp out of range at offset {len(blob) - len(epb('<', 0, 0, data))}"
