"""Records/s the collector decodes: `python -m testbed.collector.bench [--live ...]`.

In-process, for NetFlow v5 and for IPFIX: decode + sequence + checks + records
(Collector.receive), then the live loop's whole per-datagram work (plus JSON
lines and text lines), in CPU seconds of this process.

`--live`: the referee as a lab runs it (`python -m testbed collect --listen
... --jsonl FILE`, its lines to a file) and nfdump's nfcapd beside it, both on
loopback, get the same IPFIX stream at `--rate` records/s for `--seconds`;
printed for each: records received, datagrams the kernel dropped at its socket,
its CPU seconds (from /proc) and records per CPU second. `--only referee|nfcapd`
runs one of them (to time whole runs against each other).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import struct
import tempfile
import time
from pathlib import Path

from testbed.collector import jsonl, text
from testbed.collector.collector import Collector
from testbed.collector.nfcapd import Nfcapd
from testbed.collector.process import CollectorProcess
from testbed.collector.v5 import HEADER, RECORD

PER = 30  # records per datagram
# an IPFIX template as routers send it: addresses, interfaces, 64-bit counters, absolute ms, ports...
IPFIX_FIELDS = ((8, 4), (12, 4), (15, 4), (10, 4), (14, 4), (2, 8), (1, 8), (152, 8), (153, 8), (7, 2),
                (11, 2), (6, 1), (4, 1), (5, 1), (9, 1), (13, 1))
IPFIX_RECORD = struct.Struct("!4s4s4sIIQQQQHHBBBBB")
TEMPLATE_EVERY = 20  # datagrams


def datagrams(n: int, per: int = PER) -> list[tuple[bytes, int]]:
    """(datagram, receive time) of n full v5 datagrams of varied UDP/TCP records, in
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


def ipfix_datagrams(n: int, per: int = PER, spacing_ms: float = 1.0) -> list[tuple[bytes, int]]:
    """(message, receive time) of n IPFIX messages of `per` records each, one every
    `spacing_ms` from now; the template in every TEMPLATE_EVERY-th."""
    now_ms = int(time.time() * 1000)
    template = struct.pack("!HH", 256, len(IPFIX_FIELDS)) + b"".join(struct.pack("!HH", *f) for f in IPFIX_FIELDS)
    template_set = struct.pack("!HH", 2, 4 + len(template)) + template
    out = []
    for i in range(n):
        recs = b"".join(IPFIX_RECORD.pack(struct.pack(">I", 0x0A000000 + j), struct.pack(">I", 0x0A010000 + i % 251),
                                          b"\x0a\x00\x09\x01", 1, 2, 10, 1500, now_ms - 5000, now_ms - 100, 1024 + j,
                                          53 if j % 2 else 443, 0 if j % 2 else 0x1B, 17 if j % 2 else 6, 0, 24, 16)
                        for j in range(per))
        sets = (template_set if i % TEMPLATE_EVERY == 0 else b"") + struct.pack("!HH", 256, 4 + len(recs)) + recs
        at = now_ms + int(i * spacing_ms)
        out.append((struct.pack("!HHIII", 10, 16 + len(sets), at // 1000, i * per, 0) + sets, at))
    return out


def rate(data: list[tuple[bytes, int]], live: bool) -> float:
    """Records per CPU second of this process."""
    c = Collector(keep=False)
    t0 = time.process_time()
    for d, recv_ms in data:
        got = c.receive(d, ("10.0.9.1", 2055), recv_ms)
        if live:
            jsonl.received_lines(got)
            [text.record_line(r) for r in got.records]
    elapsed = time.process_time() - t0
    s = c.summary()
    assert (s.records_lost, s.findings, s.records) == (0, {}, PER * len(data)), s
    return c.n_records / elapsed


# -- live: the referee and nfcapd on loopback, the same stream to both ------------------------

def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def last_summary(path: Path) -> dict:
    with open(path, "rb") as f:
        f.seek(max(0, f.seek(0, os.SEEK_END) - (1 << 16)))
        return json.loads(f.read().rstrip(b"\n").rsplit(b"\n", 1)[-1])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def live(rate_rps: int, seconds: float, only: str | None, workdir: Path) -> list[str]:
    n = max(1, int(rate_rps * seconds / PER))
    gap = PER / rate_rps
    stream = [d for d, _ in ipfix_datagrams(n, spacing_ms=gap * 1000)]
    targets = {}
    if only in (None, "referee"):
        ref = CollectorProcess("127.0.0.1:0", workdir / "referee.jsonl", log=workdir / "referee.log").start()
        targets["referee"] = (ref.listen, ref.pid)
    if only in (None, "nfcapd"):
        nf = Nfcapd("127.0.0.1", free_port(), workdir / "nfcapd", log=workdir / "nfcapd.log").start()
        targets["nfcapd"] = (("127.0.0.1", nf.port), nf.proc.pid)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        start = time.monotonic()
        for i, d in enumerate(stream):
            ahead = start + i * gap - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
            for addr, _ in targets.values():
                s.sendto(d, addr)
        sent_s = time.monotonic() - start
    out = [f"offered: {n * PER:,} IPFIX records in {n:,} datagrams over {sent_s:.1f} s "
           f"({n * PER / sent_s:,.0f} records/s, {PER} a datagram) to {' and '.join(targets)}"]
    if "referee" in targets:
        time.sleep(1.0)  # let it drain what is queued before its CPU time is read
        cpu = cpu_s(ref.pid)
        ref.proc.send_signal(signal.SIGTERM)  # it drains its socket and writes its summary line
        ref.proc.wait(60)
        summary = last_summary(ref.jsonl)  # (not the whole file: a million records to load)
        facts, got = summary["live"], summary["records"]
        out.append(f"referee: {got:,} records ({got / (n * PER):.1%}), socket drops {facts.get('socket_drops')}, "
                   f"{cpu:.2f} CPU s, {got / cpu:,.0f} records per CPU second, "
                   f"{facts.get('records_per_busy_s') or 0:,} per busy second")
    if "nfcapd" in targets:
        cpu = cpu_s(nf.proc.pid)
        r = nf.stop()
        out.append(f"nfcapd:  {r.totals.flows:,} records ({r.totals.flows / (n * PER):.1%}), socket drops "
                   f"{r.socket_drops}, {cpu:.2f} CPU s, {r.totals.flows / max(cpu, 1e-3):,.0f} records per CPU second")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datagrams", type=int, default=2000, help="in-process: datagrams of 30 records")
    p.add_argument("--live", action="store_true", help="the referee and nfcapd on loopback")
    p.add_argument("--rate", type=int, default=100_000, help="live: records/s offered")
    p.add_argument("--seconds", type=float, default=10.0, help="live: how long")
    p.add_argument("--only", choices=("referee", "nfcapd"), help="live: one of them")
    args = p.parse_args()
    if args.live:
        with tempfile.TemporaryDirectory() as d:
            print("\n".join(live(args.rate, args.seconds, args.only, Path(d))))
        return
    for name, data in (("v5", datagrams(args.datagrams)), ("IPFIX", ipfix_datagrams(args.datagrams))):
        print(f"{name}: decode+sequence+checks {rate(data, False):,.0f} records/s, live path (+JSON lines, "
              f"+text) {rate(data, True):,.0f} records/s (CPU seconds of this process)")


if __name__ == "__main__":
    main()
