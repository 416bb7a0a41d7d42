"""Exports made by exporters nobody here wrote, read by decoders nobody here wrote.

EXPORTERS: how each exporter under cross-check turns a capture into exports to
127.0.0.1:PORT, in each version it speaks. Adding one is one line (its argv;
`stop_after` when it does not end by itself). `export()` runs one into a UDP
socket of our own and writes what arrived as a capture (the receive times
are the capture's); `tshark_records`, `nfdump_records` and `referee_records`
read that capture each their own way into the same comparable rows.
"""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, NamedTuple

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

from testbed.collector import load_jsonl
from testbed.collector.nfcapd import Nfcapd
from testbed.pcap import write_pcap

ROOT = Path(__file__).resolve().parents[2]
RAW_IP = 101
FLOWS = 640


def _pmacctd(version: int, port: int, pcap: Path, workdir: Path) -> list[str]:
    conf = workdir / f"pmacctd-v{version}.conf"
    conf.write_text("daemonize: false\n"
                    f"pcap_savefile: {pcap}\npcap_savefile_wait: true\n"
                    "plugins: nfprobe\n"
                    f"nfprobe_receiver: 127.0.0.1:{port}\nnfprobe_version: {version}\n"
                    "nfprobe_timeouts: tcp=60:udp=60:icmp=60:general=60:maxlife=60:expint=1\n")
    return ["pmacctd", "-f", str(conf)]


@dataclass(frozen=True)
class Exporter:
    versions: tuple[int, ...]
    argv: Callable[[int, int, Path, Path], list[str]]  # (version, port, input capture, workdir)
    stop_after: float | None = None  # seconds until SIGTERM (it keeps running), None: it ends
    program: str | None = None  # what must be installed (None: the exporter's name)


EXPORTERS = {
    # -a: its clock is the capture's (otherwise uptimes and times mix the wall clock in)
    "softflowd": Exporter((5, 9, 10), lambda v, port, pcap, d: [
        "softflowd", "-r", str(pcap), "-v", str(v), "-a", "-n", f"127.0.0.1:{port}", "-c", "none", "-d"]),
    "pmacctd": Exporter((5, 9, 10), _pmacctd, stop_after=2.5),
    # ours, offline, in each version it exports (the referee shares none of its code)
    "netflow-lab": Exporter((5, 9), lambda v, port, pcap, d: [
        sys.executable, "-m", "probe", "-r", str(pcap), "--export", f"v{v}", "-n", f"127.0.0.1:{port}",
        *(["--template-packets", "16"] if v == 9 else [])], program=sys.executable),
}


class Row(NamedTuple):
    """One record as every decoder can say it."""

    src: str
    dst: str
    sport: int
    dport: int
    proto: int
    tos: int
    packets: int
    octets: int
    input: int
    output: int
    tcp_flags: int
    src_mask: int
    dst_mask: int
    start: int  # unix ms, or uptime ms (v5/v9/IPFIX sysUpTime-relative: what tshark shows)
    end: int


# -- the traffic the exporters see ----------------------------------------------------------------

def traffic(path: Path, t0: float) -> None:
    """TCP both ways, UDP, ICMP echo, IPv6 UDP and TCP, and FLOWS one-packet UDP flows (enough
    export datagrams for templates to be sent again), timed from t0."""
    e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    a, b, a6, b6 = "10.1.0.1", "10.2.0.1", "2001:db8::1", "2001:db8::2"
    pkts = []

    def add(t, p):
        p.time = t0 + t
        pkts.append(p)

    add(0.00, e / IP(src=a, dst=b, tos=0x10) / TCP(sport=40000, dport=80, flags="S"))
    add(0.01, e / IP(src=b, dst=a) / TCP(sport=80, dport=40000, flags="SA"))
    for i in range(5):
        add(0.02 + i * 0.02, e / IP(src=a, dst=b, tos=0x10) / TCP(sport=40000, dport=80, flags="PA") / (b"x" * 100))
        add(0.03 + i * 0.02, e / IP(src=b, dst=a) / TCP(sport=80, dport=40000, flags="A") / (b"y" * 1000))
    add(0.20, e / IP(src=a, dst=b, tos=0x10) / TCP(sport=40000, dport=80, flags="FA"))
    add(0.21, e / IP(src=b, dst=a) / TCP(sport=80, dport=40000, flags="FA"))
    for i in range(10):
        add(0.3 + i * 0.05, e / IP(src=a, dst=b) / UDP(sport=5353, dport=5000) / (b"u" * (50 + i)))
    for i in range(3):
        add(0.4 + i * 0.2, e / IP(src=a, dst=b) / ICMP(type=8, id=7, seq=i))
        add(0.41 + i * 0.2, e / IP(src=b, dst=a) / ICMP(type=0, id=7, seq=i))
    for i in range(5):
        add(0.5 + i * 0.1, e / IPv6(src=a6, dst=b6, tc=0x20) / UDP(sport=6000, dport=7000) / (b"v" * 80))
    add(0.6, e / IPv6(src=a6, dst=b6) / TCP(sport=41000, dport=443, flags="S"))
    add(0.61, e / IPv6(src=b6, dst=a6) / TCP(sport=443, dport=41000, flags="SA"))
    for i in range(FLOWS):
        add(1.0 + i * 0.005, e / IP(src=f"10.3.{i // 100}.{i % 100 + 1}", dst=b) / UDP(sport=20000 + i, dport=53)
            / (b"q" * (20 + i % 200)))
    wrpcap(str(path), pkts)


# -- running an exporter into a capture ---------------------------------------------------------

def export(name: str, version: int, workdir: Path) -> tuple[Path, int]:
    """The capture of what `name` exported from the traffic, and the port it went to."""
    ex = EXPORTERS[name]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    pcap = workdir / f"{name}-in.pcap"
    traffic(pcap, time.time() + 1.5)
    log = open(workdir / f"{name}-v{version}.log", "wb")
    proc = subprocess.Popen(ex.argv(version, port, pcap, workdir), stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    got = []
    try:
        started = time.monotonic()
        stopped = False
        sock.settimeout(0.2)
        quiet_since = None
        while True:
            try:
                data, src = sock.recvfrom(65535)
                got.append((time.time_ns(), src, data))
                quiet_since = None
                continue
            except TimeoutError:
                pass
            if ex.stop_after is not None and not stopped and time.monotonic() - started > ex.stop_after:
                proc.send_signal(signal.SIGTERM)
                stopped = True
            if proc.poll() is not None:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 0.5:
                    break
            if time.monotonic() - started > 60:
                raise RuntimeError(f"{name} -v {version} did not end")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        sock.close()
    assert got, f"{name} v{version} exported nothing: {(workdir / f'{name}-v{version}.log').read_text()}"
    cap = workdir / f"{name}-v{version}.pcap"
    with open(cap, "wb") as f:
        write_pcap(f, RAW_IP, [(t, bytes(IP(src=s[0], dst="127.0.0.1") / UDP(sport=s[1], dport=port) / Raw(d)))
                               for t, s, d in got])
    return cap, port


# -- three readings of one capture ------------------------------------------------------------------

def referee_records(cap: Path, workdir: Path):
    """`python -m testbed collect --read`, end to end, and its JSON lines loaded."""
    out = workdir / (cap.stem + ".jsonl")
    done = subprocess.run([sys.executable, "-m", "testbed", "collect", "--read", str(cap), "--jsonl", str(out),
                           "--quiet"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return load_jsonl(out)


def rows_of(result, relative: bool) -> list[Row]:
    """The referee's records; times as uptime ms when the exporter sent them so."""
    return sorted(Row(r.src, r.dst, r.sport, r.dport, r.proto, r.tos, r.packets, r.octets, r.input, r.output,
                      r.tcp_flags, r.src_mask, r.dst_mask, r.first if relative else r.start_ms,
                      r.last if relative else r.end_ms) for r in result.records)


def _ms(text: str) -> int:
    """tshark's 'Nov 29, 2026 15:47:27.422000000 UTC' or nfdump's '2026-11-29T15:47:27.422'."""
    if text[4:5] == "-":
        dt = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f")
    else:
        head, frac = text.replace(" UTC", "").split(".")
        dt = datetime.strptime(head, "%b %d, %Y %H:%M:%S").replace(microsecond=int(frac[:6]))
    return round(dt.replace(tzinfo=timezone.utc).timestamp() * 1000)


def _flows(node, out: list[dict]) -> None:
    for k, v in node.items():
        if k.startswith(("Flow ", "pdu ")) and isinstance(v, dict):  # v9/IPFIX, v5
            if "cflow.protocol" in v:  # an options record is not a flow
                out.append(v)
        elif isinstance(v, dict):
            _flows(v, out)


EPOCH = "Jan  1, 1970 00:00:00.000000000 UTC"


def _times(get) -> tuple:
    """(start, end): uptime seconds (floats: sysUpTime-relative times), or unix ms. Wireshark
    shows an uptime of 0 (softflowd -a: its boot is the first packet) as the epoch."""
    out = []
    for rel, absolute in (("cflow.timestart", "cflow.abstimestart"), ("cflow.timeend", "cflow.abstimeend")):
        if get(rel, default=None) is not None:
            out.append(float(get(rel)))
        elif get(absolute, default=None) == EPOCH and get("cflow.timeend" if "start" in rel else
                                                          "cflow.timestart", default=None) is not None:
            out.append(0.0)
        elif get(absolute, default=None) is not None:
            out.append(_ms(get(absolute)))
        else:
            raise AssertionError("no times in tshark's record")
    return tuple(out)


def tshark_records(cap: Path, port: int) -> tuple[list[Row], bool]:
    """Wireshark's cflow dissector's reading, and whether its times were uptime-relative."""
    done = subprocess.run(["tshark", "-r", str(cap), "-d", f"udp.port=={port},cflow", "-T", "json",
                           "--no-duplicate-keys"], capture_output=True, text=True, check=True, timeout=120)
    rows, relative = [], False
    for pkt in json.loads(done.stdout):
        flows: list[dict] = []
        _flows(pkt["_source"]["layers"].get("cflow", {}), flows)
        for f in flows:
            def get(*names, default=0):
                for n in names:
                    if n in f:
                        return f[n]
                    for sub in f.values():
                        if isinstance(sub, dict) and n in sub:
                            return sub[n]
                return default
            start, end = _times(get)
            relative |= isinstance(start, float)
            start, end = (round(t * 1000) if isinstance(t, float) else t for t in (start, end))
            proto = int(get("cflow.protocol"))
            dport = int(get("cflow.dstport"))
            if proto in (1, 58) and not dport:
                code = get("cflow.icmp_type_code_ipv4", default=None)
                dport = int(code, 16) if code is not None else \
                    int(get("cflow.icmp_ipv6_type")) * 256 + int(get("cflow.icmp_ipv6_code"))
            rows.append(Row(get("cflow.srcaddr", "cflow.srcaddrv6"), get("cflow.dstaddr", "cflow.dstaddrv6"),
                            int(get("cflow.srcport")), dport, proto, int(get("cflow.tos"), 16),
                            int(get("cflow.packets", "cflow.packets64")), int(get("cflow.octets", "cflow.octets64")),
                            int(get("cflow.inputint")), int(get("cflow.outputint")),
                            int(get("cflow.tcpflags", default="0x00"), 16), int(get("cflow.srcmask", "cflow.srcmaskv6")),
                            int(get("cflow.dstmask", "cflow.dstmaskv6")), start, end))
    return sorted(rows), relative


def nfdump_records(cap_payloads: list[bytes], workdir: Path) -> tuple[list[Row], object]:
    """What nfcapd 1.7 stored of the same datagrams, sent to it on loopback in order."""
    n = Nfcapd("127.0.0.1", free_udp_port(), workdir / "nfcapd", log=workdir / "nfcapd.log").start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for d in cap_payloads:
                s.sendto(d, ("127.0.0.1", n.port))
                time.sleep(0.002)
        result = n.stop()
    finally:
        n.close()
    rows = [Row(f.src, f.dst, f.sport, f.dport, f.proto, f.tos, f.packets, f.bytes, f.input, f.output,
                sum(1 << (7 - i) for i, ch in enumerate(f.tcp_flags) if ch != "."), f.src_mask, f.dst_mask,
                f.first_ms, f.last_ms) for f in n.flows()]
    return sorted(rows), result


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def payloads(cap: Path) -> list[bytes]:
    from testbed.collector.capture import Reader
    with open(cap, "rb") as f:
        return [d.payload for d in Reader().datagrams(f)]

