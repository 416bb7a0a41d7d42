"""Run nfdump's nfcapd on loopback for a test, and read back what it stored."""
from __future__ import annotations

import os
import socket
import subprocess
from datetime import datetime, timezone

from probe.bench.gen import Key
from testbed.collector.nfcapd import Nfcapd


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback_nfcapd(workdir: str) -> Nfcapd:
    """nfcapd on 127.0.0.1:<free port>, writing into WORKDIR/flows; default socket buffer."""
    return Nfcapd("127.0.0.1", free_udp_port(), os.path.join(workdir, "flows"),
                  log=os.path.join(workdir, "nfcapd.log")).start()


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
