"""`kind: no_malformed` - the collector rejected no datagram."""
from __future__ import annotations

from dataclasses import dataclass

from ..check import CHECKS, Check
from ..context import Context
from ..verdict import Verdict

SHOWN = 8


@CHECKS.add
@dataclass(frozen=True, kw_only=True)
class NoMalformed(Check):
    kind = "no_malformed"

    def evaluate(self, observed, ctx: Context) -> Verdict:
        bad = observed.malformed
        problems = [f"malformed datagram from {d.exporter}: {d.reason} ({d.detail})" for d in bad[:SHOWN]]
        return self.verdict(not bad, "0 malformed datagrams", problems)
