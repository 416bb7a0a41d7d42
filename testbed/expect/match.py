"""Select records and sent flows by the `match:` of a check."""
from __future__ import annotations

from .context import Context

PROTO_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1}


def proto_number(value) -> int:
    if isinstance(value, str):
        return PROTO_NUMBERS[value.lower()] if not value.isdigit() else int(value)
    return int(value)


class Matcher:
    def __init__(self, match: dict, ctx: Context) -> None:
        self.src = ctx.addrs(match.get("src"))
        self.dst = ctx.addrs(match.get("dst"))
        self.sport = match.get("sport")
        self.dport = match.get("dport")
        self.proto = proto_number(match["proto"]) if "proto" in match else None
        self.tos = match.get("tos")
        self.text = ", ".join(f"{k}={v}" for k, v in match.items()) or "any flow"

    def __call__(self, r) -> bool:
        """`r` is a collector record or a sent FlowId (same field names)."""
        return ((self.src is None or r.src in self.src)
                and (self.dst is None or r.dst in self.dst)
                and (self.sport is None or r.sport == self.sport)
                and (self.dport is None or r.dport == self.dport)
                and (self.proto is None or r.proto == self.proto)
                and (self.tos is None or r.tos == self.tos))


def sent_flows(matcher: Matcher, ctx: Context) -> list:
    return [t for fid, t in ctx.truth.items() if matcher(fid)]
