"""The end-to-end lab: a router namespace running the live probe, hosts behind it, a collector.

    h1 --- r1 [ r ] r2 --- h2         r: the probe (python -m probe -i r1 -i r2 -i r3)
                    r3 --- h3         c: a UDP listener (records decoded with scapy,
                    rc --- c             never with probe's own code)

r3 has ifindex 70000, beyond what v5 can carry: the probe exports it as 65535.

Hosts send hand-made frames from AF_PACKET sockets opened in their namespace;
the router forwards what it can (outgoing frames must not be counted).
"""
from __future__ import annotations

import itertools
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.layers.netflow import (NetflowDataflowsetV9, NetflowHeader, NetflowHeaderV5,
                                  NetflowRecordV5, netflowv9_defragment)

from probe.live import ctl

from .nslab import Lab, inside, packet_socket

HOSTS = {  # host: (router side address, host address, prefix length)
    "h1": ("10.1.1.1", "10.1.1.2", 24),
    "h2": ("10.2.2.1", "10.2.2.2", 30),
    "h3": ("192.168.3.1", "192.168.3.2", 24),
    "c": ("10.9.9.1", "10.9.9.2", 30),
}
ROUTES = [
    "20.0.0.0/8 via 10.2.2.2",                 # /8 via a gateway
    "20.1.0.0/16 via 192.168.3.2",             # /16
    "20.1.2.0/24 dev {r1}",                    # /24 on-link
    "20.1.2.3/32 via 10.1.1.2",                # host route
    "default via 192.168.3.2",
    "blackhole 30.0.0.0/8",
    "40.0.0.0/16 via 10.2.2.2 metric 100",
    "40.0.0.0/16 via 192.168.3.2 metric 50",   # the lowest metric wins
    "unreachable 50.0.0.0/24",
    "60.0.0.0/8 nexthop via 10.2.2.2 nexthop via 192.168.3.2",  # multipath: first hop
]
REJECT_MASKS = {"30.": 8, "50.0.0.": 24}  # fibmatch refuses these: masks from the table above
BIG_INDEX, STAND_IN = 70000, 65535
_ports = itertools.count(20550)
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class RouterLab:
    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.r = lab.ns("r")
        self.ns = {h: lab.ns(h) for h in HOSTS}
        self.rif = {h: lab.ifname("r" + h[-1] if h != "c" else "rc") for h in HOSTS}
        self.hif = {h: lab.ifname(h) for h in HOSTS}
        for h, (raddr, haddr, plen) in HOSTS.items():
            lab.veth(self.r, self.rif[h], self.ns[h], self.hif[h],
                     index1=BIG_INDEX if h == "h3" else None)
            lab.ip(self.r, "addr", "add", f"{raddr}/{plen}", "dev", self.rif[h])
            lab.ip(self.ns[h], "addr", "add", f"{haddr}/{plen}", "dev", self.hif[h])
            lab.ip(self.ns[h], "route", "add", "default", "via", raddr)
        lab.sysctl(self.r, "net.ipv4.ip_forward=1")
        res = lab.ip_batch(self.r, ["route add " + r.format(r1=self.rif["h1"]) for r in ROUTES])
        assert res.returncode == 0, res.stderr
        self.ifindex = {name: lab.ifindex(self.r, name) for name in self.rif.values()}
        # what v5 carries: the kernel's index, or the stand-in for the big one
        self.exported = {n: STAND_IN if i == BIG_INDEX else i for n, i in self.ifindex.items()}
        self.rmac = {h: lab.mac(self.r, self.rif[h]) for h in HOSTS}
        self.hmac = {h: lab.mac(self.ns[h], self.hif[h]) for h in HOSTS}
        self._socks: dict[str, socket.socket] = {}

    def in_ifindex(self, host: str) -> int:
        """The input index a record of a frame from `host` carries."""
        return self.exported[self.rif[host]]

    def frame(self, host: str, src: str, dst: str, proto: str = "udp", sport: int = 1000,
              dport: int = 2000, payload: int = 20, flags: str = "A", tos: int = 0) -> bytes:
        l4 = {"udp": lambda: UDP(sport=sport, dport=dport),
              "tcp": lambda: TCP(sport=sport, dport=dport, flags=flags),
              "icmp": lambda: ICMP(type=8, code=0)}[proto]()
        return bytes(Ether(src=self.hmac[host], dst=self.rmac[host])
                     / IP(src=src, dst=dst, tos=tos) / l4 / (b"p" * payload))

    def send(self, host: str, frames) -> None:
        sock = self._socks.get(host)
        if sock is None:
            sock = self._socks[host] = packet_socket(self.ns[host], self.hif[host])
        for f in frames:
            sock.send(f)

    def close(self) -> None:
        for s in self._socks.values():
            s.close()


class Collector:
    """A UDP listener in the collector namespace; decodes v5 and v9 with scapy."""

    def __init__(self, rl: RouterLab, port: int | None = None) -> None:
        self.port = port or next(_ports)
        with inside(rl.ns["c"]):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            self.sock.bind((HOSTS["c"][1], self.port))
        self.datagrams: list[tuple[float, bytes]] = []
        self._decoded: list[list[dict]] = []  # records of datagrams[i], decoded once
        self._template: bytes | None = None  # v9: the last datagram that carried it

    @property
    def address(self) -> str:
        return f"{HOSTS['c'][1]}:{self.port}"

    def receive(self, timeout: float, until=None) -> list[dict]:
        """Collect for up to `timeout` s, or until until(records) is true."""
        end = time.monotonic() + timeout
        while True:
            records = self.records()
            if until is not None and until(records):
                return records
            left = end - time.monotonic()
            if left <= 0:
                return records
            if select.select([self.sock], [], [], min(left, 0.05))[0]:
                self.datagrams.append((time.time(), self.sock.recv(65535)))

    def records(self) -> list[dict]:
        # scapy takes ~0.1 ms a record: decoding every datagram again on each
        # arrival made a 1000-record receive outlast its timeout on a busy machine
        for at, data in self.datagrams[len(self._decoded):]:
            self._decoded.append([dict(rec, at=at) for rec in self._decode(data)])
        return [rec for recs in self._decoded for rec in recs]

    def _decode(self, data: bytes) -> list[dict]:
        if data[:2] != b"\x00\x09":
            return decode_v5(data)
        if data[20:22] == b"\x00\x00":  # a template set comes first
            self._template = data
        assert self._template is not None, "v9 data before any template"
        return decode_v9(data, self._template)

    def close(self) -> None:
        self.sock.close()


def decode_v9(data: bytes, template: bytes) -> list[dict]:
    """One v9 datagram, read with the template `template` carried (RFC 3954)."""
    pkts = [IP() / UDP(sport=1, dport=2055) / NetflowHeader(d) for d in (template, data)]
    pkt = netflowv9_defragment(pkts[1:] if template is data else pkts)[-1]
    return [dict(src=rec.IPV4_SRC_ADDR, dst=rec.IPV4_DST_ADDR, nexthop=rec.IPV4_NEXT_HOP,
                 input=rec.INPUT_SNMP, output=rec.OUTPUT_SNMP, packets=rec.IN_PKTS,
                 octets=rec.IN_BYTES, first=rec.FIRST_SWITCHED, last=rec.LAST_SWITCHED,
                 sport=rec.L4_SRC_PORT, dport=rec.L4_DST_PORT, flags=rec.TCP_FLAGS,
                 proto=rec.PROTOCOL, tos=rec.TOS, src_mask=rec.SRC_MASK, dst_mask=rec.DST_MASK)
            for rec in pkt[NetflowDataflowsetV9].records]


def decode_v5(data: bytes) -> list[dict]:
    pkt = NetflowHeader(data)
    assert pkt.version == 5
    hdr = pkt[NetflowHeaderV5]
    out, rec = [], hdr.payload
    while isinstance(rec, NetflowRecordV5):
        out.append(dict(src=rec.src, dst=rec.dst, nexthop=rec.nexthop, input=rec.input,
                        output=rec.output, packets=rec.dpkts, octets=rec.dOctets,
                        first=rec.first, last=rec.last, sport=rec.srcport, dport=rec.dstport,
                        flags=int(rec.tcpFlags), proto=rec.prot, tos=rec.tos,
                        src_mask=rec.src_mask, dst_mask=rec.dst_mask))
        rec = rec.payload
    assert len(out) == hdr.count
    return out


class ProbeProcess:
    """`python -m probe` in the router namespace, stopped by SIGTERM."""

    def __init__(self, rl: RouterLab, collectors: list[str], *args: str) -> None:
        self.dir = tempfile.mkdtemp(prefix=rl.lab.prefix + "-")
        self.control = os.path.join(self.dir, "ctl.sock")
        self.out = open(os.path.join(self.dir, "stdout"), "w+")
        self.err = open(os.path.join(self.dir, "stderr"), "w+")
        cmd = ["ip", "netns", "exec", rl.r, sys.executable, "-m", "probe",
               *(a for h in ("h1", "h2", "h3") for a in ("-i", rl.rif[h])),
               *(a for c in collectors for a in ("-n", c)), "--control", self.control, *args]
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=self.err, cwd=_REPO)
        end = time.monotonic() + 10
        while True:  # ready when the control socket answers
            try:
                ctl.request(self.control, {"cmd": "stats"}, timeout=1)
                break
            except ctl.CtlError:
                if self.proc.poll() is not None or time.monotonic() > end:
                    self.stop()
                    raise RuntimeError(f"probe did not start: {self.stderr()}")
                time.sleep(0.02)

    def ctl(self, cmd: str, **kw) -> dict:
        reply = ctl.request(self.control, {"cmd": cmd, **kw})
        assert reply["ok"], reply
        return reply

    def stderr(self) -> str:
        self.err.seek(0)
        return self.err.read()

    def stop(self, timeout: float = 10) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def close(self) -> None:
        self.stop()
        self.out.close()
        self.err.close()
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)
