"""`kind: data_decodable` - every v9/IPFIX data set became records: none was given up
for want of its template (RFC 7011 8: a template before the data it describes;
the referee holds early data sets a while, testbed/collector/holding.py)."""
from __future__ import annotations

from dataclasses import dataclass

from testbed.collector.templatecheck import undecodable

from ..check import CHECKS, Check
from ..context import Context
from ..verdict import Verdict


@CHECKS.add
@dataclass(frozen=True, kw_only=True)
class DataDecodable(Check):
    kind = "data_decodable"

    def evaluate(self, observed, ctx: Context) -> Verdict:
        if not observed.templates and not observed.undecoded:
            return self.verdict(False, "", ["no v9/IPFIX template arrived (does the exporter send v5?)"])
        late = sum(1 for r in observed.records for f in r.findings if f.code == "data-before-template")
        text = f"{len(observed.records)} records, every data set decoded" + (
            f" ({late} records held until their template came)" if late else "")
        problems = undecodable(observed.undecoded)
        return self.verdict(not problems, text, problems)
