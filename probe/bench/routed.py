"""The live routed benchmark: `python -m probe.bench.routed` (root, trafgen).

h1 -> r1 -> h2 in three network namespaces made for the run (veths, names
nfr<hex>-*, deleted at the end). trafgen in h1 sends 64-byte UDP frames (64
flows, static packets) through r1, which forwards them to h2 (to an address
h2 does not own: h2 drops them without a reply). First the kernel's
forwarding limit without a probe (trafgen unpaced, r1's forwarded packets per
second); then, for each engine, the probe on r1's two interfaces at rising
fractions of that limit: a rate passes when the ring dropped nothing and the
probe accounted exactly the packets r1 received. Prints one line per step
and the highest passing rate of each engine as a fraction of the limit.
No packet leaves the three namespaces; the probe exports to r1's loopback.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import struct
import subprocess
import sys
import tempfile
import time

FLOWS = 64
FRAME = 60  # + the 4-byte FCS a wire would add: a 64-byte frame
H1, R1_IN, R1_OUT, H2, SINK = "10.77.1.1", "10.77.1.254", "10.77.2.254", "10.77.2.1", "10.77.2.9"


def _sh(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def _ip(text: str) -> bytes:
    return bytes(int(x) for x in text.split("."))


def _mac(ns: str, dev: str) -> bytes:
    addr = json.loads(_sh("ip", "-j", "-n", ns, "link", "show", dev))[0]["address"]
    return bytes.fromhex(addr.replace(":", ""))


def _checksum(header: bytes) -> int:
    s = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def trafgen_config(dst_mac: bytes, src_mac: bytes) -> str:
    """FLOWS static packets (source ports 1024..), one trafgen block each."""
    blocks = []
    for i in range(FLOWS):
        udp = struct.pack("!HHHH", 1024 + i, 9, FRAME - 34, 0) + bytes(FRAME - 42)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, FRAME - 14, i, 0, 64, 17, 0,
                         _ip(H1), _ip(SINK))
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
        frame = dst_mac + src_mac + b"\x08\x00" + ip + udp
        blocks.append("{ " + ", ".join(f"0x{b:02x}" for b in frame) + " }")
    return "\n".join(blocks) + "\n"


class Lab:
    """h1 - r1 - h2, static neighbours (no ARP during a step)."""

    def __init__(self) -> None:
        p = "nfr" + secrets.token_hex(2)
        self.h1, self.r1, self.h2 = f"{p}-h1", f"{p}-r1", f"{p}-h2"
        self.made: list[str] = []
        self.tmp = tempfile.mkdtemp(prefix=p)
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self) -> None:
        for ns in (self.h1, self.r1, self.h2):
            _sh("ip", "netns", "add", ns)
            self.made.append(ns)
            _sh("ip", "-n", ns, "link", "set", "lo", "up")
        _sh("ip", "-n", self.h1, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
            "netns", self.r1)
        _sh("ip", "-n", self.h2, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1",
            "netns", self.r1)
        for ns, dev, addr in ((self.h1, "eth0", H1), (self.r1, "eth0", R1_IN),
                              (self.r1, "eth1", R1_OUT), (self.h2, "eth0", H2)):
            _sh("ip", "-n", ns, "addr", "add", addr + "/24", "dev", dev)
            _sh("ip", "-n", ns, "link", "set", dev, "up")
        _sh("ip", "netns", "exec", self.r1, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        _sh("ip", "-n", self.r1, "neigh", "replace", SINK, "lladdr",
            _mac(self.h2, "eth0").hex(":"), "dev", "eth1", "nud", "permanent")
        self.config = os.path.join(self.tmp, "udp64.cfg")
        with open(self.config, "w") as f:
            f.write(trafgen_config(_mac(self.r1, "eth0"), _mac(self.h1, "eth0")))

    def counter(self, ns: str, dev: str, name: str) -> int:
        return int(_sh("ip", "netns", "exec", ns, "cat", f"/sys/class/net/{dev}/statistics/{name}"))

    def send(self, packets: int, rate: int | None, dev: str = "eth1",
             counter: str = "tx_packets") -> tuple[int, float]:
        """trafgen in h1 (`rate` packets/s, None: as fast as it can): how many
        packets r1's `dev` `counter` grew by, and at what rate."""
        argv = ["ip", "netns", "exec", self.h1, "trafgen", "-o", "eth0", "-i", self.config,
                "-n", str(packets), "-P", "1", "--no-sock-mem", "-Q", "-C"]
        if rate:
            argv += ["-b", f"{rate}pps"]
        meter = Meter(self.r1, dev, counter)
        try:
            _sh(*argv)
            time.sleep(0.05)
        finally:
            count, seconds = meter.stop()
        return count, count / seconds if seconds else 0.0

    def close(self) -> None:
        for ns in self.made:
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


# Runs in r1: samples a counter every millisecond until stdin closes, then
# prints how much it grew and over how long (first to last change).
_METER = """
import select, sys, time
path = "/sys/class/net/%s/statistics/%s"
def read():
    with open(path) as f:
        return int(f.read())
start = last = read()
t_first = t_last = None
print("ready", flush=True)
while not select.select([sys.stdin], [], [], 0.001)[0]:
    v = read()
    if v != last:
        now = time.monotonic()
        t_first = t_first or now
        t_last, last = now, v
print(last - start, (t_last - t_first) if t_first else 0.0, flush=True)
"""


class Meter:
    """The packets/s at which a counter of r1 grew while trafgen sent."""

    def __init__(self, ns: str, dev: str, counter: str) -> None:
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c",
                                      _METER % (dev, counter)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.proc.stdout.readline()

    def stop(self) -> tuple[int, float]:
        out, _ = self.proc.communicate("x\n", timeout=10)
        count, seconds = out.split()
        return int(count), float(seconds)


def _stats(path: str) -> dict:
    from ..live import ctl
    return ctl.request(path, {"cmd": "stats"})["stats"]


# The ring alone (capture, no engine): where the ceiling is without the probe's work.
_RING = """
import select, signal, sys
from probe.live.capture import Capture
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
cap = Capture(["eth0", "eth1"]); p = select.poll(); p.register(cap.fileno(), select.POLLIN)
print("ready", flush=True)
while not stop:
    p.poll(100)
    while cap.walk_blocks(lambda ring, base: None):
        pass
print(*cap.stats(), flush=True)
"""


def ring_step(lab: Lab, rate: int | None, limit: float, seconds: float) -> dict:
    proc = subprocess.Popen(["ip", "netns", "exec", lab.r1, sys.executable, "-c", _RING],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        proc.stdout.readline()
        packets = max(1, int((rate or limit) * seconds))
        received, pps = lab.send(packets, rate, "eth0", "rx_packets")
        time.sleep(0.3)
        proc.terminate()
        ring_packets, drops = map(int, proc.stdout.readline().split())
    finally:
        proc.terminate()
        proc.wait(10)
    return {"engine": "ring only", "asked": rate, "pps": pps, "sent": packets,
            "received": received, "accounted": ring_packets - drops, "drops": drops,
            "ok": drops == 0 and ring_packets >= packets}


def probe_step(lab: Lab, engine: str, rate: int | None, limit: float, seconds: float) -> dict:
    """One rate (None: trafgen unpaced) with the probe on r1: what it
    accounted against what trafgen sent."""
    ctl_path = os.path.join(lab.tmp, f"{engine}-{rate}.ctl")
    proc = subprocess.Popen(
        ["ip", "netns", "exec", lab.r1, sys.executable, "-m", "probe", "-i", "eth0", "-i", "eth1",
         "-n", "127.0.0.1:9", "--engine", engine, "--control", ctl_path],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                before = _stats(ctl_path)
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the probe ({engine}) did not start") from None
                time.sleep(0.01)
        packets = max(1, int((rate or limit) * seconds))
        received, pps = lab.send(packets, rate, "eth0", "rx_packets")
        last, stable = None, 0
        while stable < 3:  # until the probe has read what the ring holds
            time.sleep(0.1)
            now = _stats(ctl_path)
            stable = stable + 1 if now["frames"] == (last or {}).get("frames") else 0
            last = now
        accounted = last["packets"] - before["packets"]
        drops = last["ring_drops"] - before["ring_drops"]
        return {"engine": engine, "asked": rate, "pps": pps, "sent": packets,
                "received": received, "accounted": accounted, "drops": drops,
                "ok": drops == 0 and accounted == packets}
    finally:
        proc.terminate()
        proc.wait(10)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m probe.bench.routed",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--limit-packets", type=int, default=3_000_000,
                    help="packets sent unpaced to find the forwarding limit")
    ap.add_argument("--seconds", type=float, default=3.0, help="per probe step")
    ap.add_argument("--fractions", default="0.5,0.7,0.8,0.9,0.95,1.0",
                    help="probe steps, as fractions of the forwarding limit")
    ap.add_argument("--engines", default="fast,reference,ring",
                    help="fast, reference, ring (the capture ring alone, no engine)")
    args = ap.parse_args(argv)
    if os.geteuid() != 0 or not shutil.which("trafgen"):
        print("routed benchmark: needs root and trafgen (netsniff-ng); not run")
        return 0
    lab = Lab()
    try:
        forwarded, limit = lab.send(args.limit_packets, None)
        print(f"kernel forwarding limit (no probe; trafgen unpaced, 64 B UDP, {FLOWS} flows): "
              f"{limit:,.0f} packets/s ({forwarded:,} of {args.limit_packets:,} forwarded)")
        print("steps: trafgen paced at a fraction of the limit, then unpaced; rate = r1's "
              "received packets/s while trafgen sent")
        print(f"{'engine':>9} {'asked pps':>10} {'rate':>10} {'of limit':>8} {'sent':>9} "
              f"{'accounted':>9} {'drops':>6}  verdict")
        best = {}
        steps = [float(x) for x in args.fractions.split(",")] + [None]
        for engine in args.engines.split(","):
            best[engine] = 0.0
            for frac in steps:
                rate = frac and int(limit * frac)
                step = (ring_step(lab, rate, limit, args.seconds) if engine == "ring" else
                        probe_step(lab, engine, rate, limit, args.seconds))
                asked = f"{step['asked']:,}" if step["asked"] else "unpaced"
                print(f"{engine:>9} {asked:>10} {step['pps']:>10,.0f} {step['pps'] / limit:>8.0%} "
                      f"{step['sent']:>9,} {step['accounted']:>9,} {step['drops']:>6}  "
                      + ("exact, no drop" if step["ok"] else "LOSS"), flush=True)
                if not step["ok"]:
                    break
                best[engine] = max(best[engine], step["pps"])
        for engine, pps in best.items():
            print(f"{engine}: max loss-free rate {pps:,.0f} packets/s = "
                  f"{pps / limit:.0%} of the forwarding limit")
    finally:
        lab.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
