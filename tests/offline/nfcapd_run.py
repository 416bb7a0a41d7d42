"""Run nfdump's nfcapd on loopback for a test, and read back what it stored."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from datetime import datetime, timezone

from probe.bench.gen import Key


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def udp_socket(port: int) -> tuple[int, int] | None:
    """(bytes queued, datagrams dropped) of the UDP socket bound to 127.0.0.1:port."""
    local = f"0100007F:{port:04X}"
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            cols = line.split()
            if cols[1] == local:
                return int(cols[4].split(":")[1], 16), int(cols[-1])
    return None


class Nfcapd:
    """nfcapd on 127.0.0.1:<free port>, writing into WORKDIR/flows; default socket buffer."""

    def __init__(self, workdir: str) -> None:
        self.directory = os.path.join(workdir, "flows")
        os.makedirs(self.directory)
        self.port = free_udp_port()
        self.log = os.path.join(workdir, "nfcapd.log")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                ["nfcapd", "-w", self.directory, "-b", "127.0.0.1", "-p", str(self.port),
                 "-t", "3600"],
                stdout=log, stderr=subprocess.STDOUT)
        self.drops = 0
        self._wait(lambda: udp_socket(self.port) is not None, "bind its socket")

    def _wait(self, ready, what: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise AssertionError(f"nfcapd did not {what}:\n{open(self.log).read()}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Wait until nfcapd has read every queued datagram, then SIGTERM (it writes its file)."""
        def drained() -> bool:
            state = udp_socket(self.port)
            return state is not None and state[0] == 0

        self._wait(drained, "drain its socket", 60)
        self.drops = udp_socket(self.port)[1]
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> "Nfcapd":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def summary(directory: str) -> dict[str, int]:
    """`nfdump -R DIR -I`: Flows, Packets, Bytes, Sequence failures, ..."""
    out = subprocess.run(["nfdump", "-R", directory, "-I"], capture_output=True, text=True,
                         check=True).stdout
    pairs = (line.split(":", 1) for line in out.splitlines() if ":" in line)
    return {k.strip(): int(v) for k, v in pairs if v.strip().isdigit()}


FLAGS = "CEUAPRSF"  # nfdump's order, most significant bit first
FMT = "fmt:%ts|%te|%sa|%da|%sp|%dp|%pr|%flg|%stos|%ipkt|%ibyt"


def records(directory: str) -> dict[Key, tuple[int, int, int, int, int]]:
    """Every stored record: key -> (packets, bytes, tcp flags, first ms, last ms).
    Asserts that no key appears twice."""
    out = subprocess.run(["nfdump", "-R", directory, "-q", "-N", "-o", FMT],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "TZ": "UTC"}).stdout
    found = {}
    for line in out.splitlines():
        ts, te, sa, da, sp, dp, pr, flg, tos, pkts, byts = (c.strip() for c in line.split("|"))
        if "." in dp:  # ICMP: type.code
            t, c = dp.split(".")
            dp = str(int(t) * 256 + int(c))
        key = Key(_ip(sa), _ip(da), int(sp), int(dp), int(pr), int(tos))
        assert key not in found, f"two records for {key}"
        flags = sum(1 << (7 - i) for i, ch in enumerate(flg) if ch != ".")
        found[key] = (int(pkts), int(byts), flags, _ms(ts), _ms(te))
    return found


def _ip(text: str) -> int:
    return int.from_bytes(socket.inet_aton(text), "big")


def _ms(text: str) -> int:
    dt = datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc)
    return round(dt.timestamp() * 1000)
