"""How closely a replay holds the recorded timing: `python -m testbed.traffic.bench`.

The replay step's player against tcpreplay, on the same capture in the same
run: two namespaces joined by a veth (names nfb<hex>-a/-b, deleted at the
end), a bursty schedule (bursts of 20 packets 20 us apart, every 5 ms, for
2 s), sent at the recorded timing, 10 times faster and 1000 times faster.
tcpdump on the far side stamps each packet on arrival; the lag of a packet is
how much later than its recorded offset it arrived (relative to the first).
Prints one line per sender and speed: packets received, lag max / p99 /
median, the span. For the player also the lag it measured itself (what a
replay step reports). Root only; no traffic leaves the two namespaces.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from array import array
from pathlib import Path

from .. import pcap

SETTLE_S = 1.5  # tcpdump's ring hands over its last block this long after the last packet


def schedule(bursts: int = 400) -> list[float]:
    return [b * 0.005 + i * 20e-6 for b in range(bursts) for i in range(20)]


def frames(n: int) -> list[bytes]:
    out = []
    for i in range(n):
        payload = struct.pack("!I", i) + bytes(196)
        udp = struct.pack("!HHHH", 1000, 2000, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                         bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + udp
        out.append(bytes.fromhex("020000000002020000000001") + b"\x08\x00" + ip)
    return out


def _ns(name: str, *argv: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", name, *argv], check=True, capture_output=True,
                          text=True, **kw)


def _received(rx: Path) -> dict[int, float]:
    with open(rx, "rb") as f:
        return {struct.unpack_from("!I", c.data, 42)[0]: c.ts_ns / 1e9 for c in pcap.read(f)}


def _lags(got: dict[int, float], ts: list[float], speed: float) -> str:
    i0 = min(got)
    lags = sorted((got[i] - got[i0]) - (ts[i] - ts[i0]) / speed for i in got)
    span = max(got.values()) - got[i0]
    return (f"{len(got):5d} received  lag max {lags[-1] * 1e3:7.1f} ms  p99 {lags[int(len(lags) * 0.99)] * 1e3:7.1f} ms"
            f"  median {statistics.median(lags) * 1e3:6.2f} ms  span {span:.3f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speeds", default="1,10,1000", help="comma-separated (default 1,10,1000)")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("python -m testbed.traffic.bench: needs root (namespaces)", file=sys.stderr)
        return 2
    tag = "nfb" + secrets.token_hex(2)
    a, b = f"{tag}-a", f"{tag}-b"
    ts = schedule()
    data = frames(len(ts))
    with tempfile.TemporaryDirectory(prefix="replay-bench-") as tmp:
        work = Path(tmp)
        try:
            for n in (a, b):
                subprocess.run(["ip", "netns", "add", n], check=True)
            subprocess.run(["ip", "link", "add", "va", "netns", a, "type", "veth", "peer", "vb", "netns", b],
                           check=True)
            _ns(a, "ip", "link", "set", "va", "up")
            _ns(b, "ip", "link", "set", "vb", "up")
            print(f"{len(ts)} packets over {ts[-1]:.2f} s (load {os.getloadavg()[0]:.2f})")
            for speed in (float(s) for s in args.speeds.split(",")):
                for sender in ("tcpreplay", "player"):
                    line = _one(sender, speed, ts, data, a, b, work)
                    print(f"x{speed:<6g} {sender:9s} {line}", flush=True)
        finally:
            for n in (a, b):
                subprocess.run(["ip", "netns", "del", n], capture_output=True)
    return 0


def _one(sender: str, speed: float, ts: list[float], data: list[bytes], a: str, b: str, work: Path) -> str:
    rx = work / "rx.pcap"
    dump = subprocess.Popen(["ip", "netns", "exec", b, "tcpdump", "-i", "vb", "-w", str(rx), "-n", "-q",
                             "--time-stamp-precision", "nano", "-B", "65536", "udp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(SETTLE_S)
    own = ""
    if sender == "tcpreplay":
        src = work / "in.pcap"
        with open(src, "wb") as f:
            pcap.write_pcap(f, 1, [(10**18 + round(t * 1e9), d) for t, d in zip(ts, data)])
        _ns(a, "tcpreplay", "-q", "-i", "va", f"--multiplier={speed:g}", str(src))
    else:
        plan = work / "plan.pcapng"
        with open(plan, "wb") as f:
            pcap.write_pcapng(f, 1, ["p"], [(round(t / speed * 1e9), 0, d) for t, d in zip(ts, data)])
        spec = work / "plan.json"
        spec.write_text(json.dumps({"frames": str(plan), "sent": str(work / "sent"), "lead": 0.05,
                                    "ports": {"p": {"netns": f"/run/netns/{a}", "ifname": "va"}}}))
        out = _ns(a, sys.executable, "-m", "testbed.traffic.player", str(spec))
        start = json.loads(out.stdout)["start"]
        sent = array("d")
        sent.frombytes((work / "sent").read_bytes())
        own = f"  (own lag max {max(s - start - t / speed for s, t in zip(sent, ts)) * 1e3:.1f} ms)"
    time.sleep(SETTLE_S)
    dump.terminate()
    dump.wait()
    return _lags(_received(rx), ts, speed) + own


if __name__ == "__main__":
    sys.exit(main())
