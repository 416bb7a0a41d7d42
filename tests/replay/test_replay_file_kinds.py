"""A replay's `file:` that is no regular file is named for what it is, at its line:
a FIFO or a device would block or never end the reading before anything is sent."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from testbed.topology import TopologyError, loads

LAB = Path(__file__).resolve().parents[2] / "topologies" / "field-replay.yaml"


def problems(tmp_path: Path, file: str) -> list[str]:
    text = LAB.read_text().replace("file: ../samples/office.pcap", f"file: {file}")
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
