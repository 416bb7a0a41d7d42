"""Capture files from the field: any damage is a PcapError, never a crash."""
import io
import struct

from hypothesis import given, settings, strategies as st

from probe.pcapfile import PcapError, read


def _block(btype: int, body: bytes) -> bytes:
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


SHB = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
IDB = _block(1, struct.pack("<HHI", 1, 0, 0) + struct.pack("<HH", 9, 1) + b"\x09\x00\x00\x00")
EPB = _block(6, struct.pack("<IIIII", 0, 0, 1_000_000, 4, 4) + b"\x45\x00\x00\x14")
PCAPNG = SHB + IDB + EPB
PCAP = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101) + \
    struct.pack("<IIII", 1, 2, 4, 4) + b"\x45\x00\x00\x14"


def frames(data: bytes):
    return list(read(io.BytesIO(data)))


def test_the_samples_read():
    assert [f.ts_ns for f in frames(PCAPNG)] == [1_000_000 * 1_000_000_000 // 10**9]
    assert [f.ts_ns for f in frames(PCAP)] == [1_000_002_000]


def test_a_tsresol_option_cut_at_the_end_of_the_block():
    idb = _block(1, struct.pack("<HHI", 1, 0, 0) + struct.pack("<HH", 9, 1))
    try:
        frames(SHB + idb + EPB)
    except PcapError:
        pass


@settings(max_examples=2000, deadline=None)
@given(st.sampled_from([PCAPNG, PCAP]), st.data())
def test_damaged_files_raise_only_pcap_error(sample, data):
    buf = bytearray(sample)
    for _ in range(data.draw(st.integers(1, 6))):
        buf[data.draw(st.integers(0, len(buf) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(buf)))
    try:
        frames(bytes(buf[:cut]))
    except PcapError:
        pass
