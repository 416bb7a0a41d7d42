"""The live daemon exporting NetFlow v9: the template when it is due, the
sequence by datagram, `stats` over the control socket counting templates;
the collector reads them with scapy's v9 decoder (router.decode_v9)."""
from __future__ import annotations

import struct
import time


def test_live_v9_templates_sequence_and_stats(rlab, collector, start_probe):
    probe = start_probe([collector.address], "--inactive-timeout", "60", "--export", "v9",
                        "--template-packets", "3", "--engine-id", "4")
    frames = [rlab.frame("h1", "10.1.1.2", "20.5.5.5", sport=9000 + i) for i in range(100)]
    rlab.send("h1", frames)
    time.sleep(0.1)
    assert probe.ctl("flush")["flushed"] == 100
    records = collector.receive(5, until=lambda r: len(r) >= 100)
    assert sorted(r["sport"] for r in records) == list(range(9000, 9100))
    assert all(r["packets"] == 1 and r["dst"] == "20.5.5.5" for r in records)
    headers = [struct.unpack_from("!HHIIII", data) for _, data in collector.datagrams]
    assert [(h[0], h[4], h[5]) for h in headers] == [(9, seq, 4) for seq in range(4)]
    templates = [data[20:22] == b"\0\0" for _, data in collector.datagrams]
    assert templates == [True, False, False, True]  # every 3 datagrams
    assert [h[1] for h in headers] == [26 + 1, 27, 27, 20 + 1]  # records, and the template
    stats = probe.ctl("stats")["stats"]
    assert (stats["datagrams_sent"], stats["records_sent"], stats["templates_sent"]) == (4, 100, 2)
    assert probe.stop() == 0
