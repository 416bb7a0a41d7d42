"""NetFlow inside a replayed capture is a foreign exporter: the referee hears it,
no check counts it for or against the lab's probe, and the replay says so."""
from __future__ import annotations

import os
import struct

import pytest

from testbed import pcap
from testbed.traffic import craft
from test_replay_labs import LAB

pytestmark = pytest.mark.root
if os.geteuid() != 0:
    pytest.skip("labs need root (namespaces, veths)", allow_module_level=True)

H1, H2, FOREIGN = "10.0.1.10", "10.0.2.20", "10.0.1.77"
MACS = bytes.fromhex("02000000000102000000000208 00".replace(" ", ""))


def v5(records: int, seq: int = 0) -> bytes:
    """A v5 datagram some other router sent, `records` flows of 9 packets each."""
    head = struct.pack(">HHIIIIBBH", 5, records, 50_000, 1_790_000_000, 0, seq, 0, 0, 0)
    rec = (bytes([10, 0, 1, 10]) + bytes([10, 0, 2, 20]) + bytes(4)
           + struct.pack(">HHIIII", 1, 2, 9, 900, 40_000, 49_000)
           + struct.pack(">HHBBBB", 4000, 53, 0, 0, 17, 0) + struct.pack(">HHBBH", 0, 0, 24, 24, 0))
    return head + rec * records


def capture(path, collector: str, port: int) -> None:
    frames = [craft.udp(H1, H2, 4000, 53, b"q" * 30) for _ in range(5)]
    frames.insert(2, craft.udp(FOREIGN, collector, 40000, port, v5(5, seq=1000)))
    with open(path, "wb") as f:
        pcap.write_pcap(f, 1, ((1_790_000_000_000_000_000 + i * 10_000_000, MACS + p)
                              for i, p in enumerate(frames)))


def test_netflow_in_the_capture_is_foreign_and_never_judged(netflow_lab, tmp_path, capsys):
    lab = netflow_lab(LAB)
    ref = lab.topology.collectors["ref"]
    capture(tmp_path / "mixed.pcap", str(ref.address), ref.port)
    result = lab.run_step({"kind": "replay", "name": "mixed", "file": str(tmp_path / "mixed.pcap"),
                           "into": "r1:eth0"})
    assert result.report["to_collectors"] == {"ref": 1}
    assert ("1 packets to collector ref (%s): NetFlow in a capture reaches the referee as a foreign "
            "exporter, not judged" % ref) in result.summary
    # the referee heard two exporters; the probe's checks see only the probe's records
    lab.assert_passed([{"name": "counted", "kind": "conservation", "step": "mixed"},
                       {"name": "stream", "kind": "sequence"}])
    assert (f"collector ref also heard {FOREIGN} (1 datagrams, 5 records): no exporter of the lab, not judged"
            in capsys.readouterr().out)
    heard = lab.collector_result("ref")
    assert sorted({r.exporter for r in heard.records}) == [FOREIGN, "10.255.0.1"]
    assert sum(r.packets for r in heard.find(src=H1, dport=53)) == 5 + 5 * 9
