"""`servers:` and `placement:` - the machines a lab is spread over (docs/scale.md).

    servers:
      a: {host: 192.0.2.10, user: lab}          # reached over SSH
      b: {host: lab2.example.net, port: 2222, python: /opt/netflow-lab/.venv/bin/python}
    placement: by-router      # explicit (default) | round-robin | by-router
    nodes:
      r1: {kind: router, server: a, ...}

No `servers:` is today's lab: every node on this machine. `host: localhost` is this
machine too (the coordinator), so a lab may keep some nodes here. Placement itself
(which server each node goes to) is decided in the run plan (testbed/plan/placement.py);
`python -m testbed run --servers a=HOST,b=HOST --place RULE` gives servers on the
command line instead of the file (`servers_from_option`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address

from ..schema.errors import Problems
from ..schema.fields import NAME_RE, Reader
from ..schema.yamltree import Y

LOCALHOST = "localhost"
PLACEMENTS = ("explicit", "round-robin", "by-router")
HOST_RE = re.compile(r"^[A-Za-z0-9._-]{1,253}$")
USER_RE = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
SERVER_FIELDS = ("host", "user", "port", "python", "sudo", "address")


@dataclass(frozen=True)
class Server:
    """A machine nodes are placed on, as the lab file (or --servers) names it."""

    name: str
    host: str  # what ssh connects to; "localhost": the coordinating machine itself
    user: str = "root"
    port: int = 22
    python: str | None = None  # the project's Python there (default: the same path as here)
    sudo: bool | None = None  # prefix remote commands with sudo (default: when user is not root)
    address: IPv4Address | None = None  # its end of tunnels (default: host, when host is an address)
    line: int = 0

    @property
    def local(self) -> bool:
        return self.host == LOCALHOST

    @property
    def needs_sudo(self) -> bool:
        return self.user != "root" if self.sudo is None else self.sudo

    def __str__(self) -> str:
        return self.host if self.local else f"{self.user}@{self.host}" + (f":{self.port}" if self.port != 22 else "")


def read_servers(r: Reader, spec: Y) -> dict[str, Server]:
    out: dict[str, Server] = {}
    for name, y in (r.mapping(spec, "servers") or {}).items():
        if r.name(name, y, "server name") is None:
            continue
        if isinstance(y.value, str):  # `a: HOST` shorthand
            server = _parse(r, name, y.value, y)
        else:
            f = r.fields(y, ("host",), SERVER_FIELDS[1:], "a server")
            server = _read(r, name, f, y) if f and "host" in f else None
        if server is not None:
            out[name] = server
    return out


def _read(r: Reader, name: str, f: dict[str, Y], y: Y) -> Server | None:
    host = f["host"].value
    if not isinstance(host, str) or not HOST_RE.match(host):
        r.error(f["host"], f"expected a host name or IPv4 address, got {host!r}")
        return None
    user = f["user"].value if "user" in f else "root"
    if not isinstance(user, str) or not USER_RE.match(user):
        r.error(f["user"], f"bad user name {user!r}")
        return None
    port = r.port(f["port"], 1) if "port" in f else 22
    python = r.text(f["python"], "a path to a Python") if "python" in f else None
    if python is not None and not python.startswith("/"):
        r.error(f["python"], f"expected an absolute path, got {python!r}")
        return None
    sudo = r.boolean(f["sudo"]) if "sudo" in f else None
    address = r.address(f["address"]) if "address" in f else _address(host)
    if port is None or ("python" in f and python is None) or ("address" in f and address is None):
        return None
    return Server(name, host, user, port, python, sudo, address, y.keyline)


def _address(host: str) -> IPv4Address | None:
    try:
        return IPv4Address(host)
    except ValueError:
        return None


def _parse(r: Reader, name: str, text: str, y: Y) -> Server | None:
    """`[USER@]HOST[:PORT]`."""
    user, _, rest = text.rpartition("@")
    host, _, port = rest.partition(":")
    if not HOST_RE.match(host) or (user and not USER_RE.match(user)) or (port and not port.isdigit()) \
            or (port and not 0 < int(port) < 65536):
        r.error(y, f"expected [USER@]HOST[:PORT], got {text!r}")
        return None
    return Server(name, host, user or "root", int(port or 22), address=_address(host), line=y.keyline)


def servers_from_option(text: str) -> dict[str, Server]:
    """`--servers a=HOST,b=USER@HOST:PORT`; ValueError saying what is wrong."""
    out: dict[str, Server] = {}
    for item in text.split(","):
        name, eq, target = item.strip().partition("=")
        if not eq or not name or not target:
            raise ValueError(f"--servers: expected NAME=[USER@]HOST[:PORT], got {item.strip()!r}")
        if not NAME_RE.match(name):
            raise ValueError(f"--servers: bad server name {name!r}: a letter then letters, digits, '-' or '_'")
        if name in out:
            raise ValueError(f"--servers: server {name!r} named twice")
        server = _parse(Reader(Problems("--servers")), name, target, Y(target, 0, f"servers.{name}"))
        if server is None:
            raise ValueError(f"--servers: {name}: expected [USER@]HOST[:PORT], got {target!r}")
        out[name] = server
    return out
