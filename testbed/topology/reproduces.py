"""`reproduces:` - which r135400 field bug a lab shows, and which checks catch it.

    reproduces:
      quirk: uptime-seconds          # a probe --quirk id (FIELD-BUGS.md)
      checks: [flow-lasts-5-s]       # these must fail when run with --quirk-on
      symptom: every flow duration is 1000x too short
"""
from __future__ import annotations

from probe.quirks import ALL as QUIRKS

from ..schema.fields import Reader
from .model import Reproduces
from ..schema.yamltree import Y


def read_reproduces(r: Reader, y: Y, expect: tuple) -> Reproduces | None:
    f = r.fields(y, ("quirk", "checks"), ("symptom",), "reproduces:")
    if f is None:
        return None
    quirk = r.choice(f["quirk"], QUIRKS, "quirk") if "quirk" in f else None
    names = [i.value for i in f["checks"]] if "checks" in f and f["checks"].is_seq else None
    if not names or not all(isinstance(n, str) for n in names):
        r.error(f.get("checks", y), "checks: the names of the checks that catch the bug")
        return None
    known = {c.name for c in expect}
    for item in f["checks"]:
        if item.value not in known:
            r.error(item, f"no check is named {item.value!r}")
            return None
    symptom = r.text(f["symptom"], "a symptom") if "symptom" in f else ""
    if quirk is None:
        return None
    return Reproduces(quirk, tuple(names), symptom or "", y.line)
