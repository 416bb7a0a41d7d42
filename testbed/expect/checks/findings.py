"""`kind: findings` - no record or header breaks the collector's checks (optionally:
only these finding codes count)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ...collector.checks import CODES
from ...schema.kinds import plain, spec
from ..check import CHECKS, Check
from ..context import Context
from ..verdict import Verdict

SHOWN = 8


def _codes(r, y) -> tuple[str, ...] | None:
    """Finding codes of the reference collector, e.g. [tcp-flags-zero, uptime-drift]."""
    names = [i.value for i in y] if y.is_seq else None
    if not names or not all(isinstance(n, str) for n in names):
        r.error(y, f"expected a list of finding codes, got {y.plain()!r}")
        return None
    bad = [n for n in names if n not in CODES]
    if bad:
        r.error(y, f"unknown finding code {bad[0]!r} (known: {', '.join(sorted(CODES))})")
        return None
    return tuple(names)


@CHECKS.add
@dataclass(frozen=True, kw_only=True)
class Findings(Check):
    kind = "findings"
    codes: tuple[str, ...] | None = spec(plain(_codes), None)  # None: every code counts

    def evaluate(self, observed, ctx: Context) -> Verdict:
        codes = set(self.codes or ())
        found = observed.findings(lambda c: not codes or c in codes)
        problems = []
        for f in found[:SHOWN]:
            r = f.record
            where = f" ({r.src}:{r.sport} -> {r.dst}:{r.dport})" if r is not None else " (header)"
            problems.append(f"{f.code}: {f.detail}{where}")
        if len(found) > SHOWN:
            problems.append(f"... and {len(found) - SHOWN} more")
        by_code = Counter(f.code for f in found)
        what = ", ".join(f"{n} {c}" for c, n in sorted(by_code.items())) if found else "no findings"
        return self.verdict(not found, f"{len(observed.records)} records, {what}", problems)
