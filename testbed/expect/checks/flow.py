"""`kind: flow` - the records of one flow carry the right fields: interfaces by
name, next hop by node, masks, TCP flags, counts and duration."""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from ...schema.kinds import plain, spec
from ..check import CHECKS, Check, within
from ..context import Context
from ..lag import lag_of, unreliable
from ..match import Match, read_match, sent_flows
from ..verdict import Verdict

FLAG_LETTERS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20, "E": 0x40, "C": 0x80}


def flags_text(value: int) -> str:
    return "".join(c for c, bit in FLAG_LETTERS.items() if value & bit) or "none"


def ifref(r, known, y, got) -> str | int | None:
    """`r1:eth1` (on the probe's router), or a literal ifindex such as 0."""
    if isinstance(y.value, int) and not isinstance(y.value, bool):
        return r.integer(y, 0, 2**32 - 1, "an ifindex")
    iface = known.interface(r, y)
    probe = known.probes.get(got.get("probe") or "")
    if iface is None or probe is None:
        return None
    if iface.node != probe.node:
        r.error(y, f"{iface.ref} is not on {probe.name}'s router {probe.node}")
        return None
    return iface.ref


def next_hop(r, known, y, got) -> IPv4Address | None:
    """A node (its address on the link it shares with the probe's router), an interface
    (`r3:eth0`, as in_if: names one: its address on that link) or an address."""
    text = y.value
    if isinstance(text, str) and ":" in text and text.split(":", 1)[0] in known.nodes:
        return _interface_hop(r, known, y, got)
    if isinstance(text, str) and text in known.nodes:
        probe = known.probes.get(got.get("probe") or "")
        if probe is None:
            return None
        try:
            return known.topo.address_of(text, on_link_with=probe.node)
        except ValueError as exc:
            r.error(y, f"next hop {text}: {exc}")
            return None
    try:
        return IPv4Address(text)
    except ValueError:
        r.error(y, f"next hop {text!r} is neither a node nor an IPv4 address")
        return None


def _interface_hop(r, known, y, got) -> IPv4Address | None:
    iface = known.interface(r, y)
    probe = known.probes.get(got.get("probe") or "")
    if iface is None or probe is None:
        return None
    link = known.topo.links[iface.link] if iface.link is not None else None
    if link is None or probe.node not in link.nodes or iface.node == probe.node:
        r.error(y, f"next hop {iface.ref} is not a neighbour of {probe.name}'s router {probe.node} "
                   "(an interface on a link they share)")
        return None
    if len(iface.addresses) != 1:
        r.error(y, f"next hop {iface.ref} has {len(iface.addresses) or 'no'} addresses: give one address")
        return None
    return iface.addresses[0].ip


def count_range(what: str):
    return plain(lambda r, y: r.count_range(y, what))


MASK = plain(lambda r, y: r.integer(y, 0, 32, "a prefix length"))


@CHECKS.add
@dataclass(frozen=True, kw_only=True)
class Flow(Check):
    kind = "flow"
    match: Match = spec(read_match)
    in_if: str | int | None = spec(ifref, None)
    out_if: str | int | None = spec(ifref, None)
    next_hop: IPv4Address | None = spec(next_hop, None)
    src_mask: int | None = spec(MASK, None)
    dst_mask: int | None = spec(MASK, None)
    tcp_flags: int | None = spec(plain(lambda r, y: r.tcp_flags(y)), None)
    packets: tuple[int, int | None] | None = spec(count_range("packets"), None)
    octets: tuple[int, int | None] | None = spec(count_range("octets"), None)
    records: tuple[int, int | None] | None = spec(count_range("records"), None)
    duration: tuple[float, float] | None = spec(plain(lambda r, y: r.window(y)), None)

    def claims_needed(self) -> tuple[str, ...]:
        implied = [field for field, value in (("input", self.in_if), ("output", self.out_if),
                                              ("next_hop", self.next_hop), ("src_mask", self.src_mask),
                                              ("dst_mask", self.dst_mask), ("tcp_flags", self.tcp_flags))
                   if value is not None]
        return (*self.needs, *implied)

    def evaluate(self, observed, ctx: Context) -> Verdict:
        m = self.match
        mine = [r for r in observed.find() if m(r)]  # find(): no duplicate datagrams
        if not mine and self.records is not None and self.records[0] == 0:
            return self.verdict(True, "no record, as expected", [])
        if not mine:
            sent = sent_flows(m, ctx)
            why = f" ({sum(t.packets for t in sent)} packets were sent)" if sent else ""
            return self.verdict(False, "", [f"no record matches {m.text}{why}"])
        problems: list[str] = []
        router = ctx.exporter.node

        def same(field: str, want, why: str = "", show=str) -> None:
            got = sorted({getattr(r, field) for r in mine}, key=str)
            if got != [want]:
                where = f" ({why})" if why else ""
                problems.append(f"{field}: expected {show(want)}{where}, got "
                                + ", ".join(show(g) for g in got))

        for ref, field in ((self.in_if, "input"), (self.out_if, "output")):
            if ref is None:
                continue
            if isinstance(ref, int):  # a literal index; for out_if 0, say what the route is
                same(field, ref, ctx.route_for(router, mine[0].dst) if field == "output" and not ref else "")
            else:
                kernel, want = ctx.exporter.kernel_ifindexes.get(ref), ctx.ifindex(ref)
                same(field, want, ref if kernel == want else f"{ref}, kernel ifindex {kernel} exported as {want}")
        if self.next_hop is not None:
            same("next_hop", str(self.next_hop), ctx.route_for(router, mine[0].dst))
        for field, addr_of in (("dst_mask", "dst"), ("src_mask", "src")):
            if getattr(self, field) is not None:
                same(field, getattr(self, field), ctx.route_for(router, getattr(mine[0], addr_of)))
        if self.tcp_flags is not None:
            got = 0
            for r in mine:
                got |= r.tcp_flags
            if got != self.tcp_flags:
                problems.append(f"tcp_flags: expected {self.tcp_flags:#04x} {flags_text(self.tcp_flags)}, "
                                f"got {got:#04x} {flags_text(got)}")
        total_p, total_o = sum(r.packets for r in mine), sum(r.octets for r in mine)
        for key, got in (("packets", total_p), ("octets", total_o), ("records", len(mine))):
            if getattr(self, key) is not None:
                p = within(key, getattr(self, key), got)
                if p:
                    sent = sent_flows(m, ctx)
                    if sent and key != "records":
                        p += f" (sent {sum(getattr(t, key) for t in sent)})"
                    problems.append(p)
        note = ""
        if self.duration is not None:
            lo, hi = self.duration
            got = (max(r.end_ms for r in mine) - min(r.start_ms for r in mine)) / 1000
            note = unreliable(got, self.duration, lag_of(sent_flows(m, ctx)))
            if not lo <= got <= hi:
                sent = [t for t in sent_flows(m, ctx) if t.first is not None]
                lasted = (f", traffic lasted {max(t.last for t in sent) - min(t.first for t in sent):.1f} s"
                          if sent else "")
                problems.append(f"duration: expected {lo:g}..{hi:g} s, got {got * 1000:.0f} ms{lasted}")
        r0 = mine[0]
        text = (f"{len(mine)} record(s), {total_p} packets, {total_o} octets, in {r0.input} "
                f"out {r0.output}, next hop {r0.next_hop}, masks /{r0.src_mask} -> /{r0.dst_mask}, "
                f"flags {flags_text(r0.tcp_flags)}{note}")
        return self.verdict(not problems, text, problems)
