"""The testbed's own capture reader and writers (testbed/pcap.py):
what scapy and tcpdump write reads back exactly; damaged files are one-line
errors that name the offset; nothing is lost quietly."""
from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import PcapNgWriter, wrpcap

from testbed import pcap

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "office.pcap"


def frames(n=3):
    out = []
    for i in range(n):
        p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src="10.0.0.1", dst="10.0.0.2") \
            / UDP(sport=1000 + i, dport=53) / (b"x" * i)
        p.time = 1_700_000_000 + i * 0.25
        out.append(p)
    return out


def test_scapy_pcap_reads_back(tmp_path):
    path = tmp_path / "a.pcap"
    wrpcap(str(path), frames())
    got = list(pcap.read(open(path, "rb")))
    assert [c.data for c in got] == [bytes(p) for p in frames()]
    assert [c.ts_ns for c in got] == [1_700_000_000_000_000_000 + i * 250_000_000 for i in range(3)]
    assert {c.linktype for c in got} == {1} and {c.ifname for c in got} == {None}
    assert [c.wire_len for c in got] == [len(c.data) for c in got]


def test_scapy_pcapng_reads_back(tmp_path):
    path = tmp_path / "a.pcapng"
    with PcapNgWriter(str(path)) as w:
        for p in frames():
            w.write(p)
    got = list(pcap.read(open(path, "rb")))
    assert [c.data for c in got] == [bytes(p) for p in frames()]
    assert got[2].ts_ns == 1_700_000_000_500_000_000


def test_own_writers_round_trip_with_ns_and_names():
    f = io.BytesIO()
    pcap.write_pcapng(f, 1, ["r1:eth0", "r1:eth1"], [(5, 0, b"a" * 14), (2**40 + 7, 1, b"b" * 15)])
    got = list(pcap.read(io.BytesIO(f.getvalue())))
    assert [(c.ts_ns, c.ifname, c.data) for c in got] == [(5, "r1:eth0", b"a" * 14),
                                                           (2**40 + 7, "r1:eth1", b"b" * 15)]
    f = io.BytesIO()
    pcap.write_pcap(f, 101, [(1_000_000_123, b"\x45" + b"\0" * 19)])
    (c,) = pcap.read(io.BytesIO(f.getvalue()))
    assert (c.ts_ns, c.linktype, c.data) == (1_000_000_123, 101, b"\x45" + b"\0" * 19)


def test_big_endian_and_fcs_bits():
    head = struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1 | 0x1000_0000)
    rec = struct.pack(">IIII", 7, 8, 3, 60) + b"abc"
    (c,) = pcap.read(io.BytesIO(head + rec))
    assert (c.ts_ns, c.linktype, c.data, c.wire_len) == (7_000_008_000, 1, b"abc", 60)


def test_the_bundled_capture_is_what_tcpdump_wrote():
    got = list(pcap.read(open(SAMPLE, "rb")))
    assert len(got) == 117 and {c.linktype for c in got} == {1}
    assert all(b.ts_ns >= a.ts_ns for a, b in zip(got, got[1:]))


@pytest.mark.parametrize("cut, message", [
    (2, "too short for a capture file"),
    (10, "the file ends inside the file header at offset 4"),
    (30, "the file ends inside a packet header at offset 24"),
    (45, "the file ends inside a packet at offset 24"),
])
def test_a_file_cut_short_says_where(tmp_path, cut, message):
    f = io.BytesIO()
    pcap.write_pcap(f, 1, [(0, b"x" * 60), (1, b"y" * 60)])
    with pytest.raises(pcap.CaptureError, match=message):
        list(pcap.read(io.BytesIO(f.getvalue()[:cut])))


@pytest.mark.parametrize("data, message", [
    (b"GIF89a" + b"\0" * 30, "not a pcap or pcapng file"),
    (struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1) + struct.pack("<IIII", 0, 0, 1 << 30, 0),
     "a packet of 1073741824 bytes at offset 24: the file is damaged"),
])
def test_not_a_capture_or_damaged(data, message):
    with pytest.raises(pcap.CaptureError, match=message):
        list(pcap.read(io.BytesIO(data)))


def test_pcapng_packet_of_an_undescribed_interface():
    f = io.BytesIO()
    pcap.write_pcapng(f, 1, ["only"], [(0, 1, b"x" * 20)])
    with pytest.raises(pcap.CaptureError, match="a packet of interface 1, which is not described"):
        list(pcap.read(io.BytesIO(f.getvalue())))
