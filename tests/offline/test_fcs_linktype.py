"""A pcap whose link-type field carries FCS bits (captures from the field): read as
Ethernet by both engines, as libpcap, tshark and softflowd read it."""
from __future__ import annotations

import json
import struct

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from probe.cli import main

FCS_4_BYTES = 0x24000000  # FCS present, its length 2 x 16 bits, in the upper bits


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_fcs_bits_of_the_link_type_are_ignored(tmp_path, capsys, engine):
    frame = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=7, dport=9) / (b"x" * 20))
    frame += b"\xde\xad\xbe\xef"  # the frame's FCS, kept by the capture
    path = tmp_path / "fcs.pcap"
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, FCS_4_BYTES | 1)
                     + b"".join(struct.pack("<IIII", 100 + i, 0, len(frame), len(frame)) + frame
                                for i in range(3)))
    assert main(["-r", str(path), "--print", "--engine", engine]) == 0
    out, err = capsys.readouterr()
    (rec,) = [json.loads(line) for line in out.splitlines()]
    assert (rec["packets"], rec["octets"], rec["sport"], rec["dport"]) == (3, 3 * 48, 7, 9)
    assert "unsupported_linktype" not in err
