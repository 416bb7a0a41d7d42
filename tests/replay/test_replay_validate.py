"""What validate says of a replay, at its line: a `file:` that is no regular file is
named for what it is (a FIFO or a device would block or never end the reading
before anything is sent); a replay that would last longer than a week (a gap of
years in the capture) or send more than MAX_SENDS packets (loop) is refused."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from testbed.topology import TopologyError, loads
from testbed import pcap
from testbed.traffic.steps.replay import MAX_SENDS

LAB = Path(__file__).resolve().parents[2] / "topologies" / "field-replay.yaml"


def problems(tmp_path: Path, file: str, extra: str = "") -> list[str]:
    text = LAB.read_text().replace("file: ../samples/office.pcap", f"file: {file}{extra}")
    try:
        loads(text, source="lab.yaml", base_dir=tmp_path)
    except TopologyError as exc:
        return [str(p) for p in exc.problems]
    return []


@pytest.mark.parametrize("make, said", [
    (lambda p: os.mkfifo(p), "is a FIFO, not a capture file (give a pcap or pcapng file)"),
    (lambda p: p.mkdir(), "is a directory, not a capture file"),
    (lambda p: None, "no such file: "),
])
def test_what_the_file_is_is_said(tmp_path, make, said):
    make(tmp_path / "cap")
    found = problems(tmp_path, "cap")
    assert len(found) == 1 and found[0].startswith("lab.yaml:53: traffic[0].file: ") and said in found[0], found


def test_a_device_is_not_a_capture(tmp_path):
    (found,) = problems(tmp_path, "/dev/zero")
    assert found == "lab.yaml:53: traffic[0].file: /dev/zero is a device, not a capture file (give a pcap or " \
                    "pcapng file)"


def udp(i: int) -> bytes:
    ip = bytes.fromhex("4500001c0000000040110000") + bytes([192, 168, 77, 10, 198, 51, 100, 20])
    return b"\x02" * 12 + b"\x08\x00" + ip + (40000 + i % 7).to_bytes(2, "big") + bytes.fromhex("138900080000")


def capture(path: Path, times_s: list[float]) -> None:
    with open(path, "wb") as f:
        pcap.write_pcap(f, 1, ((round(t * 1e9), udp(i)) for i, t in enumerate(times_s)))


def test_a_gap_of_years_is_refused_with_what_to_do(tmp_path):
    capture(tmp_path / "cap", [1.7e9, 1.7e9 + 0.5, 1.7e9 + 3 * 365 * 86400])
    (found,) = problems(tmp_path, "cap")
    assert found == ("lab.yaml:53: traffic[0].file: the replay would last 3 years (its longest gap: 3 years "
                     "before packet 2): at most a week, as a wait; give speed: or pps:")
    assert problems(tmp_path, "cap", "\n    pps: 100") == []  # the operator's choice


def test_a_loop_past_the_limit_is_refused_before_anything_is_built(tmp_path):
    n = MAX_SENDS // 10_000 + 1
    capture(tmp_path / "cap", [1.7e9 + i * 1e-4 for i in range(n)])
    (found,) = problems(tmp_path, "cap", "\n    loop: 10000")
    assert found == f"lab.yaml:53: traffic[0].file: {n * 10_000} packets to send ({n} x loop 10000): " \
                    f"at most {MAX_SENDS} in one replay"
    assert problems(tmp_path, "cap", f"\n    loop: {MAX_SENDS // n}") == []
