"""`kind: template_refresh` - over UDP each v9/IPFIX template is sent again as the
exporter claims (RFC 3954, RFC 7011 8.4: at regular intervals): `every_packets: N`
(within N datagrams of its stream) and/or `every_seconds: S` (in the first
datagram S seconds after it was last sent, one second of slack: export times
are whole seconds)."""
from __future__ import annotations

from dataclasses import dataclass

from testbed.collector.templatecheck import refresh

from ...schema.kinds import plain, spec
from ..check import CHECKS, Check
from ..context import Context
from ..verdict import Verdict


@CHECKS.add
@dataclass(frozen=True, kw_only=True)
class TemplateRefresh(Check):
    kind = "template_refresh"
    every_packets: int | None = spec(plain(lambda r, y: r.integer(y, 1, 1 << 20, "a number of datagrams")), None)
    every_seconds: float | None = spec(plain(lambda r, y: r.number(y, positive=True)), None)

    @classmethod
    def finish(cls, r, known, y, values) -> bool:
        if values.get("every_packets") is None and values.get("every_seconds") is None:
            r.error(y, "say how often the exporter sends its templates again: every_packets: N and/or "
                       "every_seconds: S")
            return False
        return True

    def evaluate(self, observed, ctx: Context) -> Verdict:
        if not observed.templates:
            return self.verdict(False, "", ["no v9/IPFIX template arrived (does the exporter send v5?)"])
        problems = refresh(observed.datagrams, observed.templates, self.every_packets, self.every_seconds)
        claim = " and ".join(x for x in (self.every_packets and f"every {self.every_packets} datagrams",
                                         self.every_seconds and f"every {self.every_seconds:g} s") if x)
        sent = sum(1 for e in observed.templates if e.action == "define")
        return self.verdict(not problems, f"{sent} template records, each sent again {claim}", problems)
