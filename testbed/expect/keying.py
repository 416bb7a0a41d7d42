"""Sent flows against records as the exporter under test keys them, when its claims say
it keys otherwise than ng_netflow: a difference a flow check is n/a for must not make a
count fail elsewhere. Later fragments under their first fragment's ports were moved,
not lost; two TOS values in one record, or ICMP in other port fields, likewise.

A key is (src, dst, sport, dport, proto, tos); what the exporter does not key on
becomes None on both sides before they are added up."""
from __future__ import annotations

from dataclasses import dataclass

ICMP, TCP, UDP = 1, 6, 17


@dataclass(frozen=True)
class Keying:
    tos: str | None = None  # why TOS is left out (the exporter's n/a reason); None: kept
    icmp: str | None = None  # why ICMP's port fields are left out
    fragments: str | None = None  # why the ports of a fragmented flow are left out
    fragmented: frozenset = frozenset()  # (src, dst, proto, tos) of the flows sent as fragments

    def __call__(self, key: tuple) -> tuple:
        src, dst, sport, dport, proto, tos = key
        if (self.icmp and proto == ICMP) or (self.fragments and (src, dst, proto, tos) in self.fragmented):
            sport = dport = None
        return (src, dst, sport, dport, proto, None if self.tos else tos)

    def merges(self, keys) -> list[str]:
        """The reasons whose rule puts two of `keys` together (what made the counts comparable)."""
        keys = set(keys)
        out = []
        for reason, alone in ((self.tos, Keying(tos=self.tos)), (self.icmp, Keying(icmp=self.icmp)),
                              (self.fragments, Keying(fragments=self.fragments, fragmented=self.fragmented))):
            if reason and len({alone(k) for k in keys}) < len(keys):
                out.append(reason)
        return out


def keying(unclaimed, sent_keys) -> Keying:
    """`unclaimed(name)`: why the exporter does not make claim `name` (None: it does);
    `sent_keys`: the keys of the sent flows (ports 0 in TCP/UDP: later fragments)."""
    tos, icmp, frag = (unclaimed(n) for n in ("tos_in_key", "icmp_dport", "later_fragments_ports_0"))
    fragmented = frozenset((s, d, p, t) for s, d, sp, dp, p, t in sent_keys
                           if p in (TCP, UDP) and sp == dp == 0) if frag else frozenset()
    return Keying(tos, icmp, frag, fragmented)
