"""Start-to-ready of the live probe: process start until its control socket
answers `stats`. Runs `python -m probe -i lo` in a network namespace made for
it (exports to that namespace's loopback), then deletes the namespace."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def _answers(path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(1)
            s.connect(path)
            s.sendall(b'{"cmd":"stats"}\n')
            return bool(s.recv(1 << 16))
    except OSError:
        return False


def measure(repeat: int = 5, timeout: float = 10.0) -> list[float] | None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return None
    ns = f"nfready{os.getpid() % 100000}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    times = []
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        with tempfile.TemporaryDirectory() as d:
            for i in range(repeat):
                path = os.path.join(d, f"p{i}.ctl")
                t = time.perf_counter()
                proc = subprocess.Popen(
                    ["ip", "netns", "exec", ns, sys.executable, "-m", "probe", "-i", "lo",
                     "-n", "127.0.0.1:9", "--control", path],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    while not _answers(path):
                        if proc.poll() is not None or time.perf_counter() - t > timeout:
                            raise RuntimeError(f"live probe not ready (exit {proc.poll()})")
                        time.sleep(0.002)
                    times.append(time.perf_counter() - t)
                finally:
                    proc.terminate()
                    proc.wait()
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    return times
