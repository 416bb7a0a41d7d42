"""`kind: template_redefinition` - no v9/IPFIX template id is given another layout
while its first one is in force: a withdrawal first (RFC 7011 8.1), or over UDP
`reuse_after_s` seconds without sending it (RFC 7011 8.4: 3 times the refresh
interval); otherwise a collector reads data of one layout with the other."""
from __future__ import annotations

from dataclasses import dataclass

from testbed.collector.templatecheck import redefinitions

from ...schema.kinds import plain, spec
from ..check import CHECKS, Check
from ..context import Context
from ..verdict import Verdict


@CHECKS.add
@dataclass(frozen=True, kw_only=True)
class TemplateRedefinition(Check):
    kind = "template_redefinition"
    reuse_after_s: float | None = spec(plain(lambda r, y: r.number(y, positive=True)), None)

    def evaluate(self, observed, ctx: Context) -> Verdict:
        if not observed.templates:
            return self.verdict(False, "", ["no v9/IPFIX template arrived (does the exporter send v5?)"])
        problems = redefinitions(observed.templates, self.reuse_after_s)
        ids = {(e.exporter, e.port, e.domain, e.template_id) for e in observed.templates}
        return self.verdict(not problems, f"{len(ids)} template ids, none redefined while in force", problems)
