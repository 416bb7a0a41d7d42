"""Which exporter ran, as an upstream bug report names it: what the tool says of its own
version and the version of the Debian package that installed it - asked, never assumed.

    version_of("softflowd")  # Version("softflowd", "1.1.0", "softflowd 1.1.0-1+b1")
    version_of("command", "/usr/local/bin/myprobe")  # its package, if dpkg knows the file
"""
from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import KINDS

# kind -> (argv that prints its version and exits, where the version is in what it printed)
ASK = {
    "softflowd": (("softflowd", "-h"), r"softflowd version ([\d.]*\d)"),
    "pmacctd": (("pmacctd", "-V"), r"pmacctd (\S+)"),
    "fprobe": (("fprobe", "-h"), r"Version (\S+)"),
}
TIMEOUT_S = 5.0
CHECKOUT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Version:
    kind: str
    tool: str = ""  # what the tool says ("": it said nothing we could read)
    package: str = ""  # "NAME VERSION" of the Debian package, or of this project

    @property
    def plain(self) -> str:
        """Without the kind: "1.1.0, package softflowd 1.1.0-1+b1"."""
        return ", ".join([self.tool or "version unknown"] + ([f"package {self.package}"] if self.package else []))

    def __str__(self) -> str:
        return f"{self.kind} {self.plain}"


def version_of(kind: str, program: str | None = None) -> Version:
    """`kind`'s version; for `command`, `program` (its argv[0]) is looked up in dpkg."""
    if kind == "netflow-lab":
        return Version(kind, _ours(), "")
    if kind in ASK:
        argv, pattern = ASK[kind]
        found = re.search(pattern, _output(argv))
        return Version(kind, found.group(1) if found else "", _package(KINDS[kind].package))
    path = shutil.which(program or "") if program else None
    return Version(kind, "", _package(_owner(path)) if path else "")


def _ours() -> str:
    try:
        version = importlib.metadata.version("netflow-lab")
    except importlib.metadata.PackageNotFoundError:
        version = "not installed"
    code, commit = _run(("git", "-C", str(CHECKOUT), "describe", "--always", "--dirty"))
    return f"{version} (git {commit.strip()})" if code == 0 and commit.strip() else version


def _run(argv) -> tuple[int | None, str]:
    """(exit status, what it printed on stdout and stderr); (None, "") if it could not run."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None, ""
    return done.returncode, done.stdout + done.stderr


def _output(argv) -> str:
    return _run(argv)[1]


def _package(name: str | None) -> str:
    if not name:
        return ""
    code, found = _run(("dpkg-query", "-W", "-f", "${Version}", name))
    return f"{name} {found.strip()}" if code == 0 and found.strip() else ""


def _owner(path: str) -> str | None:
    """The Debian package that installed `path` (dpkg -S), or None."""
    code, out = _run(("dpkg", "-S", str(Path(path).resolve())))
    return out.split(":", 1)[0] if code == 0 and ":" in out else None
