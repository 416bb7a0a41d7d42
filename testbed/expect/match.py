"""Select records and sent flows by a check's `match:` (a topology Match)."""
from __future__ import annotations

from ipaddress import IPv4Address

from .context import Context


class Matcher:
    def __init__(self, match, text: str = "") -> None:
        self.m = match
        self.text = text or "any flow"

    @staticmethod
    def _in(addr: str, nets) -> bool:
        a = IPv4Address(addr)
        return any(a in n for n in nets)

    def __call__(self, r) -> bool:
        """`r` is a collector record or a sent FlowId (same field names)."""
        m = self.m
        if m is None:
            return True
        return ((m.src is None or self._in(r.src, m.src))
                and (m.dst is None or self._in(r.dst, m.dst))
                and (m.sport is None or r.sport == m.sport)
                and (m.dport is None or r.dport == m.dport)
                and (m.proto is None or r.proto == m.proto)
                and (m.tos is None or r.tos == m.tos))


def matcher_for(check) -> Matcher:
    raw = check.raw.get("match") if getattr(check, "raw", None) else None
    text = ", ".join(f"{k}={v}" for k, v in raw.items()) if isinstance(raw, dict) else ""
    return Matcher(check.match, text)


def sent_flows(matcher: Matcher, ctx: Context) -> list:
    return [t for fid, t in ctx.truth.items() if matcher(fid)]
