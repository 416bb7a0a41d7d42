"""The kernel as the referee: `ip -j route get fibmatch` for many addresses at once.

One `ip -batch` process answers thousands of lookups; failed lookups print
nothing on stdout and "RTNETLINK answers: ERR" + "Command failed -:LINE" on
stderr, which is how answers are matched back to their addresses.

fibmatch's "type" is the type of the (cached) output route, not of the FIB
entry: a unicast route shows as "multicast" after a multicast destination
used the same next hop. So the type comes from the local table's listing.
"""
from __future__ import annotations

import json
import re

from .nslab import sh

_FAILED = re.compile(r"RTNETLINK answers: (.+)\nCommand failed -:(\d+)")


def fibmatch(ns: str, addrs: list[str]) -> list[dict | str]:
    """Per address: the fibmatch route (dict), or the kernel's error text."""
    lines = "".join(f"route get fibmatch {a}\n" for a in addrs)
    res = sh("ip", "-n", ns, "-j", "-force", "-batch", "-", input=lines, check=False)
    failed = {int(line) - 1: err for err, line in _FAILED.findall(res.stderr)}
    answers = iter(json.loads(line)[0] for line in res.stdout.splitlines() if line.strip())
    out = [failed[i] if i in failed else next(answers) for i in range(len(addrs))]
    assert next(answers, None) is None, "ip printed more answers than asked"
    return out


def local_prefixes(ns: str) -> set[str]:
    """dst of every route of the local table (local, broadcast: the router itself)."""
    res = sh("ip", "-n", ns, "-j", "-4", "route", "show", "table", "local")
    return {r["dst"] for r in json.loads(res.stdout)}


def expected(answer: dict | str, ifindex: dict[str, int], local: set[str]) -> tuple[int, str, int | None]:
    """(out ifindex, next hop, mask) a probe should report; mask None if unknown
    (fibmatch fails for blackhole, unreachable, prohibit and no route)."""
    if isinstance(answer, str):
        return 0, "0.0.0.0", None
    dst = answer["dst"]
    mask = 0 if dst == "default" else int(dst.split("/")[1]) if "/" in dst else 32
    if dst in local:
        return 0, "0.0.0.0", mask  # delivered to the router itself
    hops = answer.get("nexthops") or [answer]
    hop = next((h for h in hops if "dead" not in h.get("flags", ())), hops[0])  # first usable
    return ifindex[hop["dev"]], hop.get("gateway", "0.0.0.0"), mask
