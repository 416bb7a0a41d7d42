"""`python -m probe.mirror`: writes probe/constants.pxd, the compiled engine's
copy of probe/constants.py (every integer, every reason, every field offset).

Values that fit a C int become members of an anonymous enum (compile-time
constants, as fast as literals); larger ones become C macros.
tests/fast/test_constants_mirror.py checks that the file in the tree is what
this writes.
"""
from __future__ import annotations

import sys
import zlib
from enum import IntEnum
from pathlib import Path

from . import constants
from .constants import IE, Field, offsets

PXD = Path(__file__).with_name("constants.pxd")
INT_MAX = 2**31 - 1


def values() -> dict[str, int]:
    """Every integer the compiled engine may use, by its name there."""
    out: dict[str, int] = {}
    for name, value in vars(constants).items():
        if name.startswith("_"):
            continue
        if type(value) is int:
            out[name] = value
        elif isinstance(value, type) and issubclass(value, IntEnum) and len(value):
            prefix = value.__name__.upper()
            out.update({f"{prefix}_{m.name}": int(m) for m in value})
            out[f"N_{prefix}"] = max(value) + 1  # an array indexed by the reason
        elif isinstance(value, tuple) and value and all(isinstance(f, (Field, IE)) for f in value):
            out.update({f"{name}_{field.upper()}": at for field, at in offsets(value).items()})
    return out


def fingerprint() -> int:
    """A checksum of every value: the compiled engine keeps the one it was built
    with (`_engine.MIRROR`), so a build from another constants.pxd shows."""
    return zlib.crc32(repr(sorted(values().items())).encode()) & INT_MAX


def pxd() -> str:
    small = {k: v for k, v in values().items() if 0 <= v <= INT_MAX}
    large = {k: v for k, v in values().items() if k not in small}
    small["MIRROR"] = fingerprint()
    lines = ["# Generated from probe/constants.py by `python -m probe.mirror`: do not edit.",
             "# (tests/fast/test_constants_mirror.py checks it.)", ""]
    if large:
        lines += ["from libc.stdint cimport int64_t", "", "cdef extern from *:", '    """']
        lines += [f"    #define PROBE_{k} {v}LL" for k, v in large.items()]
        lines += ['    """']
        lines += [f'    const int64_t {k} "PROBE_{k}"' for k in large]
        lines.append("")
    lines.append("cdef enum:")
    lines += [f"    {k} = {v}" for k, v in small.items()]
    return "\n".join(lines) + "\n"


def main() -> int:
    PXD.write_text(pxd())
    print(f"wrote {PXD}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
