"""Any snaplen a classic pcap header can hold: both engines read the file
from disk (the header's snaplen only bounds a plausible record length)."""
import resource
import struct

import pytest

from probe.engine_api import Config
from probe.fast.choose import offline
from probe.pcapfile import PcapError

SNAPLENS = [0, 1, 65535, 262144, 0x80000000, 0xFFFEFFFF, 0xFFFF0000, 0xFFFFFFFF]
FRAME = bytes(12) + b"\x08\x00" + bytes.fromhex("450000280001000040060000") + \
    bytes([10, 0, 0, 1, 10, 0, 0, 2]) + bytes(20)  # Ethernet, IPv4, TCP: 54 bytes


def _pcap(snaplen: int, caplens: list[int]) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1)]
    for i, caplen in enumerate(caplens):
        out.append(struct.pack("<IIII", 1000 + i, 0, caplen, len(FRAME)) + FRAME)
    return b"".join(out)


def _run(engine: str, path):
    probe_class, run_file = offline(engine, Config())
    probes = []  # the run's probe, also when the file raises

    def make(start):
        probes.append(probe_class(Config(), None, start))
        return probes[-1]

    with open(path, "rb") as f:
        try:
            run_file(f, make, lambda d: None)
            error = None
        except PcapError as exc:
            error = str(exc)
    return probes[0].stats, error


@pytest.mark.parametrize("snaplen", SNAPLENS)
def test_any_snaplen_reads(engine, snaplen, tmp_path):
    path = tmp_path / "one.pcap"
    path.write_bytes(_pcap(snaplen, [len(FRAME)] * 2))
    stats, error = _run(engine, path)
    assert (error, stats.frames, stats.packets) == (None, 2, 2)


@pytest.mark.parametrize("snaplen", [0xFFFF0000, 0xFFFFFFFF])
def test_a_record_longer_than_the_file_is_damage(engine, snaplen, tmp_path):
    """The length says 1 GiB, the file ends: the packets before it count, and
    no GiB is held on the way."""
    path = tmp_path / "cut.pcap"
    path.write_bytes(_pcap(snaplen, [len(FRAME), 1 << 30]))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    stats, error = _run(engine, path)
    assert error == f"truncated packet data at offset {24 + 16 + len(FRAME)}"
    assert stats.packets == 1
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 256 << 10
