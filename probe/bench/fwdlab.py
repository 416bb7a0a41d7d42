"""The forwarding lab of the live routed benchmark: h1 -> r1 -> h2.

Three network namespaces made for the run (veths, names nfr<hex>-*, deleted
at the end). trafgen in h1 sends 64-byte UDP frames (64 flows, static
packets) through r1, which forwards them to h2 (to an address h2 does not
own: h2 drops them without a reply). Static neighbours: no ARP during a
step. No packet leaves the three namespaces.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import struct
import subprocess
import sys
import tempfile
import time

# trafgen and the forwarding it drives (softirqs on the sending CPU) get the
# first CPU this process may use; the meter and whatever reads r1's traffic
# get the others, in every run alike, so runs differ by the capture and not
# by where the scheduler put it.
SENDER_CPU = min(os.sched_getaffinity(0))


def off_sender_cpu() -> None:
    """preexec_fn: run on every CPU but the sender's (all of them on one CPU)."""
    others = os.sched_getaffinity(0) - {SENDER_CPU}
    if others:
        os.sched_setaffinity(0, others)


def _on_sender_cpu() -> None:
    os.sched_setaffinity(0, {SENDER_CPU})


def end(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 10 s: nothing of a step outlives the lab."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


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
            subprocess.run(argv, check=True, capture_output=True, preexec_fn=_on_sender_cpu)
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
                                      _METER % (dev, counter)], preexec_fn=off_sender_cpu,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.proc.stdout.readline()

    def stop(self) -> tuple[int, float]:
        out, _ = self.proc.communicate("x\n", timeout=10)
        count, seconds = out.split()
        return int(count), float(seconds)
