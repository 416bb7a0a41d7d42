"""nfdump's nfcapd beside the referee: the second opinion people trust.

    with Nfcapd("10.0.9.2", 9995, workdir / "nfcapd", prefix=mnexec_prefix(host)) as n:
        ...traffic...
    n.result.totals.sequence_failures, n.result.exporters

nfcapd runs in the foreground in a lab host's namespace (`prefix`), writing
into its own directory. Stopping waits until its socket has no unread bytes,
then SIGTERM: nfcapd closes its file. nfdump reads the files back: `-I` for
totals, `-E` for each exporter's sequence failures, `-o json` for records.
nfcapd counts a sequence failure when a datagram's flow_sequence is not the
previous one plus its record count (per exporter address and engine id).
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from testbed.logtail import tail
from typing import Sequence

POLL_S = 0.02
OUTPUT_TAIL = 8192  # of its output, in an error


@dataclass(frozen=True)
class NfdumpTotals:
    flows: int
    packets: int
    bytes: int
    sequence_failures: int


@dataclass(frozen=True)
class NfdumpExporter:
    address: str
    engine_id: int
    datagrams: int
    flows: int
    sequence_failures: int


@dataclass(frozen=True)
class NfdumpFlow:
    src: str
    dst: str
    sport: int  # ICMP: 0 (nfdump shows none)
    dport: int  # ICMP: type*256+code, as nfdump decodes the v5 dst port
    proto: int
    tos: int
    packets: int
    bytes: int
    input: int
    output: int
    tcp_flags: str  # nfdump's letters, e.g. "...AP.SF"
    exporter: str
    first_ms: int = 0  # unix ms, as nfdump computed them
    last_ms: int = 0
    src_mask: int = 0
    dst_mask: int = 0


@dataclass(frozen=True)
class NfcapdResult:
    totals: NfdumpTotals
    exporters: tuple[NfdumpExporter, ...]
    socket_drops: int  # datagrams the kernel dropped because nfcapd's buffer was full


def udp_socket(pid: int, port: int) -> tuple[int, int] | None:
    """(bytes unread, datagrams dropped) of pid's own UDP socket on `port`, from its namespace's
    /proc/net/udp; None while it has none."""
    try:
        with open(f"/proc/{pid}/net/udp") as f:
            lines = f.readlines()[1:]
        mine = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    except OSError:
        return None
    for line in lines:
        cols = line.split()
        if int(cols[1].rpartition(":")[2], 16) == port and f"socket:[{cols[9]}]" in mine:
            return int(cols[4].partition(":")[2], 16), int(cols[-1])
    return None


def _nfdump(*args: str) -> str:
    return subprocess.run(["nfdump", *args], capture_output=True, text=True, check=True,
                          env={**os.environ, "TZ": "UTC"}).stdout


def totals(directory: str | os.PathLike) -> NfdumpTotals:
    """`nfdump -R DIR -I`: the summary of every file nfcapd wrote."""
    pairs = (line.split(":", 1) for line in _nfdump("-R", str(directory), "-I").splitlines() if ":" in line)
    info = {k.strip(): v.strip() for k, v in pairs}
    return NfdumpTotals(int(info["Flows"]), int(info["Packets"]), int(info["Bytes"]),
                        int(info["Sequence failures"]))


_EXPORTER = re.compile(r"IP:\s*([\d.]+), version: \d+, ID:\s*(\d+), Sequence failures: (\d+), "
                       r"packets: (\d+), flows: (\d+)")


def exporters(directory: str | os.PathLike) -> tuple[NfdumpExporter, ...]:
    """`nfdump -E FILE` of each file, summed per (exporter address, engine id)."""
    sums: dict[tuple[str, int], list[int]] = {}
    for path in sorted(Path(directory).glob("nfcapd.*")):
        for ip, eid, fails, packets, flows in _EXPORTER.findall(_nfdump("-E", str(path))):
            s = sums.setdefault((ip, int(eid)), [0, 0, 0])
            s[0] += int(packets)
            s[1] += int(flows)
            s[2] += int(fails)
    return tuple(NfdumpExporter(ip, eid, *s) for (ip, eid), s in sorted(sums.items()))


def flows(directory: str | os.PathLike) -> tuple[NfdumpFlow, ...]:
    """Every stored record, as `nfdump -o json` gives it (IPv4 or IPv6 addresses)."""
    text = _nfdump("-R", str(directory), "-o", "json").strip()  # a JSON list (-q drops its brackets)
    return tuple(NfdumpFlow(r.get("src4_addr") or r["src6_addr"], r.get("dst4_addr") or r["dst6_addr"],
                            r.get("src_port", 0), _dport(r), r["proto"], r.get("src_tos", 0), r["in_packets"],
                            r["in_bytes"], r.get("input_snmp", 0), r.get("output_snmp", 0), r.get("tcp_flags", ""),
                            r.get("ip4_router", ""), _ms(r.get("first")), _ms(r.get("last")),
                            r.get("src_mask", 0), r.get("dst_mask", 0))
                 for r in (json.loads(text) if text else []) if r.get("type") == "FLOW")


def _ms(text: str | None) -> int:
    """nfdump's '2026-11-29T15:47:27.422' (UTC: _nfdump sets TZ) as unix ms."""
    if not text:
        return 0
    dt = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc)
    return round(dt.timestamp() * 1000)


def _dport(r: dict) -> int:
    """ICMP: nfdump shows the type and code it read (from the dst port, or an ICMP element)."""
    if "icmp_type" in r:
        return r["icmp_type"] * 256 + r.get("icmp_code", 0)
    return r.get("dst_port", 0)


SOCKET_BUFFER = 8 << 20


class Nfcapd:
    """nfcapd on ADDR:PORT (port 0 is not supported: nfcapd does not say what it bound)."""

    def __init__(self, address: str, port: int, directory: str | os.PathLike, *,
                 prefix: Sequence[str] = (), log: str | os.PathLike | None = None) -> None:
        self.address, self.port = address, port
        self.directory = Path(directory)
        self.log = Path(log) if log else self.directory.with_suffix(".log")
        # -B: a socket buffer that holds a probe's final flush (hundreds of datagrams at
        # once); with the default, nfcapd drops the tail of a burst on a busy machine
        self.command = [*prefix, "nfcapd", "-w", str(self.directory), "-b", address, "-p", str(port),
                        "-t", "3600", "-B", str(SOCKET_BUFFER)]
        self.proc: subprocess.Popen | None = None
        self.result: NfcapdResult | None = None

    def start(self, timeout: float = 10.0) -> Nfcapd:
        """Start and wait until its socket is bound; RuntimeError with its log if it is not."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        self._wait(lambda: udp_socket(self.proc.pid, self.port) is not None, "bind its socket", timeout)
        return self

    def stop(self, drain_timeout: float = 60.0) -> NfcapdResult:
        """Wait until nfcapd has read every queued datagram, SIGTERM it (it writes its file), read it."""
        if self.result is not None:
            return self.result
        self._wait(lambda: (udp_socket(self.proc.pid, self.port) or (1, 0))[0] == 0,
                   "drain its socket", drain_timeout)
        drops = udp_socket(self.proc.pid, self.port)[1]
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.close()
            raise RuntimeError(f"nfcapd did not stop:\n{self.output()}") from None
        if code != 0:
            raise RuntimeError(f"nfcapd exited {code}:\n{self.output()}")
        self.result = NfcapdResult(totals(self.directory), exporters(self.directory), drops)
        return self.result

    def flows(self) -> tuple[NfdumpFlow, ...]:
        """The records it stored (read them after stop())."""
        return flows(self.directory)

    def output(self) -> str:
        return tail(self.log, OUTPUT_TAIL)

    def _wait(self, ready, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"nfcapd did not {what}: {' '.join(self.command)}\n{self.output()}")
            time.sleep(POLL_S)

    def close(self) -> None:
        """Kill it (by its pid) if it still runs; what it wrote stays."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Nfcapd:
        return self if self.proc else self.start()

    def __exit__(self, exc_type, *_) -> None:
        if exc_type is None:
            self.stop()
        else:
            self.close()
