"""The machine a run was made on, as an upstream bug report states it: kernel, libpcap
(every packaged exporter captures through it), the OS, Python and nfdump."""
from __future__ import annotations

import ctypes
import ctypes.util
import platform
import re
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Environment:
    kernel: str
    libpcap: str
    os: str
    python: str
    nfdump: str

    def rows(self) -> list[tuple[str, str]]:
        return [("kernel", self.kernel), ("libpcap", self.libpcap), ("OS", self.os),
                ("Python", self.python), ("nfdump", self.nfdump)]


def environment() -> Environment:
    return Environment(platform.release(), libpcap(), os_name(), platform.python_version(), nfdump())


def libpcap() -> str:
    """What the libpcap the exporters load says of itself (pcap_lib_version)."""
    name = ctypes.util.find_library("pcap")
    if name is None:
        return "not found"
    try:
        lib = ctypes.CDLL(name)
        lib.pcap_lib_version.restype = ctypes.c_char_p
        return lib.pcap_lib_version().decode(errors="replace").removeprefix("libpcap version ")
    except (OSError, AttributeError):
        return f"{name} (no pcap_lib_version)"


def os_name() -> str:
    try:
        text = open("/etc/os-release").read()
    except OSError:
        return platform.system()
    found = re.search(r'^PRETTY_NAME="?([^"\n]*)"?$', text, re.M)
    return found.group(1) if found else platform.system()


def nfdump() -> str:
    try:
        done = subprocess.run(["nfdump", "-V"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    found = re.search(r"Version:\s*(\S+)", done.stdout + done.stderr)
    return found.group(1) if found else "unknown"
