"""Kernel interface indexes -> the 16-bit input/output fields of NetFlow v5.

Linux gives every new interface of a namespace the next index, so a
long-lived router (veths come and go) passes 65535. The v5 fields cannot hold
that. Rules, applied to captured input indexes and route output indexes alike:

* `--ifindex NAME=N` (ng_netflow's setifindex) exports interface NAME as N.
* Otherwise an index <= 65535 is exported as it is.
* An index > 65535 is exported as a free index, counting down from 65535
  (one no interface and no override uses), with one warning line naming the
  mapping. A mapping, once made, stays for the life of the process.
* Mode `truncate` (quirk ifindex-overflow, r135400's behaviour) exports
  index & 0xFFFF with no warning; overrides still apply.
Index 0 (local delivery, no route) is always exported as 0.
"""
from __future__ import annotations

import sys
from typing import Callable

from ..constants import IFINDEX_MAX as V5_MAX


def parse_override(text: str, wants: str = "NAME=N") -> tuple[str, int]:
    """`NAME=N` -> (NAME, N); ValueError with a message naming the problem
    (`wants`: the forms the caller takes, for that message)."""
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise ValueError(f"--ifindex wants {wants}, got {text!r}")
    if not value.isdigit() or int(value) > V5_MAX:
        raise ValueError(f"--ifindex {name}: {value!r} is not an index 0..{V5_MAX}")
    return name, int(value)


class IfindexMap:
    def __init__(self, overrides: dict[str, int] | None = None, *, truncate: bool = False,
                 warn: Callable[[str], None] | None = None) -> None:
        self.overrides = dict(overrides or {})
        self.truncate = truncate
        self.warn = warn or (lambda line: print(line, file=sys.stderr, flush=True))
        self._map: dict[int, int] = {}  # kernel index -> exported index
        self._names: dict[int, str] = {}
        self._assigned: dict[int, int] = {}  # kernel index > 65535 -> its stand-in
        self._warned_missing: set[str] = set()

    def update(self, links: dict[str, int]) -> None:
        """Take the namespace's interfaces (name -> kernel index) into account."""
        self._names = {idx: name for name, idx in links.items()}
        for name in self.overrides:
            if name not in links and name not in self._warned_missing:
                self._warned_missing.add(name)
                self.warn(f"--ifindex {name}: no such interface (yet); the override waits for it")
        new: dict[int, int] = {}
        for name, idx in links.items():
            if name in self.overrides:
                new[idx] = self.overrides[name]
            elif idx <= V5_MAX:
                new[idx] = idx
            elif self.truncate:
                new[idx] = idx & V5_MAX
        self._map = new
        for name, idx in sorted(links.items(), key=lambda item: item[1]):
            if idx not in new:
                new[idx] = self._stand_in(idx, name)

    def _stand_in(self, idx: int, name: str | None) -> int:
        got = self._assigned.get(idx)
        if got is not None:
            return got
        taken = set(self._map.values()) | set(self._assigned.values()) | set(self.overrides.values())
        taken |= {i for i in self._names if i <= V5_MAX}
        got = next((n for n in range(V5_MAX, 0, -1) if n not in taken), 0)
        self._assigned[idx] = got
        self.warn(f"{name or 'interface'} ifindex {idx} cannot be represented in NetFlow v5; "
                  f"exported as {got} (override with --ifindex {name or 'NAME'}=N)")
        return got

    def map(self, ifindex: int) -> int:
        got = self._map.get(ifindex)
        if got is not None:
            return got
        if ifindex <= V5_MAX:
            return ifindex
        if self.truncate:
            return ifindex & V5_MAX
        got = self._map[ifindex] = self._stand_in(ifindex, self._names.get(ifindex))
        return got
