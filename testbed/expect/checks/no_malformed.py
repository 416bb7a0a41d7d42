"""`kind: no_malformed` - the collector rejected no datagram, out of some that arrived.

The verdict counts: how many datagrams arrived, how many were malformed (by
reason), the first few named. Nothing arrived at all is nothing judged: a fail."""
from __future__ import annotations

from collections import Counter
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
        bad, valid = observed.malformed, observed.summary.datagrams
        if not bad and not valid:
            return self.verdict(False, "", ["no datagram arrived: nothing to judge"])
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(Counter(d.reason for d in bad).items()))
        text = f"{len(bad)} malformed of {len(bad) + valid} datagrams" + (f" ({reasons})" if bad else "")
        problems = [f"malformed datagram from {d.exporter}: {d.reason} ({d.detail})" for d in bad[:SHOWN]]
        if len(bad) > SHOWN:
            problems.append(f"... and {len(bad) - SHOWN} more (all {len(bad)}: {reasons})")
        return self.verdict(not bad, text, problems)
