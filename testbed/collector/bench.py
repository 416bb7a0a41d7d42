"""Records/s the collector decodes in-process: `python -m testbed.collector.bench`.

Two rates: decode + sequence + checks + FlowRecords (Collector.receive), and
the live loop's whole per-datagram work (plus text and JSON lines).
"""
from __future__ import annotations

import argparse
import struct
import time

from testbed.collector import jsonl, text
from testbed.collector.collector import Collector
from testbed.collector.v5 import HEADER, RECORD


def datagrams(n: int, per: int = 30) -> list[tuple[bytes, int]]:
    """(datagram, receive time) of n full datagrams of varied UDP/TCP records, in
    sequence, built here with struct."""
    out, seq, now_ms = [], 0, int(time.time() * 1000)
    for i in range(n):
        uptime = 1_000_000 + i
        recs = b"".join(RECORD.pack(struct.pack(">I", 0x0A000000 + j), struct.pack(">I", 0x0A010000 + i % 251),
                                    b"\x0a\x00\x09\x01", 1, 2, 10, 1500, uptime - 5000, uptime - 100,
                                    1024 + j, 53 if j % 2 else 443, 0, 0 if j % 2 else 0x1B, 17 if j % 2 else 6,
                                    0, 0, 0, 24, 16, 0) for j in range(per))
        out.append((HEADER.pack(5, per, uptime, (now_ms + i) // 1000, (now_ms + i) % 1000 * 1_000_000,
                                seq, 0, 0, 0) + recs, now_ms + i))
        seq += per
    return out


def rate(data: list[tuple[bytes, int]], live: bool) -> float:
    c = Collector(keep=False)
    t0 = time.perf_counter()
    for d, recv_ms in data:
        got = c.receive(d, ("10.0.9.1", 2055), recv_ms)
        if live:
            jsonl.received_lines(got)
            [text.record_line(r) for r in got.records]
    elapsed = time.perf_counter() - t0
    s = c.summary()
    assert (s.records_lost, s.findings, s.records) == (0, {}, 30 * len(data)), s
    return c.n_records / elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datagrams", type=int, default=2000)
    args = p.parse_args()
    data = datagrams(args.datagrams)
    print(f"decode+sequence+checks: {rate(data, False):,.0f} records/s")
    print(f"live path (+text, +JSON lines): {rate(data, True):,.0f} records/s")


if __name__ == "__main__":
    main()
