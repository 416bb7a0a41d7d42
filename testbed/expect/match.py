"""`match:` of a check: which records (and which sent flows) it looks at."""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, ip_address

from .context import Context

MATCH_FIELDS = ("src", "dst", "sport", "dport", "proto", "tos")


@dataclass(frozen=True)
class Match:
    """Which records a check looks at; None means "any". `text` is how the file said it."""

    src: tuple[IPv4Network, ...] | None = None
    dst: tuple[IPv4Network, ...] | None = None
    sport: int | None = None
    dport: int | None = None
    proto: int | None = None
    tos: int | None = None
    text: str = "any flow"

    def __str__(self) -> str:
        return "{" + self.text + "}"

    def __call__(self, r) -> bool:
        """`r` is a collector record or a sent FlowId (same field names)."""
        return ((self.src is None or _in(r.src, self.src))
                and (self.dst is None or _in(r.dst, self.dst))
                and (self.sport is None or r.sport == self.sport)
                and (self.dport is None or r.dport == self.dport)
                and (self.proto is None or r.proto == self.proto)
                and (self.tos is None or r.tos == self.tos))


ANY = Match()


def _in(addr: str, nets) -> bool:
    a = ip_address(addr)  # a v9/IPFIX record may be IPv6: in no IPv4 prefix
    return any(a.version == n.version and a in n for n in nets)


def read_match(r, known, y, got) -> Match | None:
    f = r.fields(y, (), MATCH_FIELDS, "a flow match")
    if f is None:
        return None
    out: dict = {}
    for key, value in f.items():
        if key in ("src", "dst"):
            out[key] = known.networks(r, value)
        elif key == "proto":
            out[key] = r.protocol(value)
        elif key == "tos":
            out[key] = r.integer(value, 0, 255, "a TOS byte")
        else:
            out[key] = r.port(value)
    if any(v is None for v in out.values()):
        return None
    text = ", ".join(f"{k}={v.plain()}" for k, v in f.items()) or "any flow"
    return Match(**out, text=text)


def sent_flows(match: Match, ctx: Context) -> list:
    return [t for fid, t in ctx.truth.items() if match(fid)]
