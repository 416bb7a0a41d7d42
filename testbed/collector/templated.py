"""The v9/IPFIX half of the collector: templates, held data sets, records.

`read` takes a datagram apart without changing anything (a malformed one
leaves no trace, RFC 7011 9.1): template records compiled, data sets read
with the templates known then (the store, or one defined earlier in the same
datagram), the others marked to be held. The collector judges its sequence
from what the sets held, then `commit` applies it: templates defined or
withdrawn (each an event), data sets held earlier decoded as their template
arrives, options records kept (their systemInitTimeMilliseconds dates IPFIX
sysUpTime-relative times), flow records built (flowmap.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from testbed.collector import ipfix, v9
from testbed.collector.flowmap import Context, plan_of
from testbed.collector.holding import Held, HeldSets
from testbed.collector.model import (DEFINE, NO_TEMPLATE, WITHDRAW, WITHDRAW_ALL, Finding, FlowRecord, Header,
                                     OptionsRecord, SetCounts, TemplateEvent, Undecoded)
from testbed.collector.sets import Malformed, SetView, TemplateSpec, padding
from testbed.collector.templates import Scope, SetError, Template, TemplateStore

INIT_NAME = "systemInitTimeMilliseconds"


@dataclass(frozen=True)
class Caps:
    """How much v9/IPFIX state a collector keeps, at most (a template flood stops here)."""

    max_templates: int = 4096
    max_template_fields: int = 1 << 17
    held_sets: int = 1024
    held_bytes: int = 4 << 20
    hold_ms: int = 30_000


class Step(NamedTuple):
    kind: str  # template, data, hold
    set: SetView
    spec: TemplateSpec | None = None
    template: Template | None = None
    rows: list | None = None


class _Read:
    """A datagram being taken apart: what its own template records put in force so far."""

    def __init__(self, scope: Scope, findings: list[Finding]):
        self.scope, self.findings = scope, findings
        self.overlay: dict[int, Template | None] = {}  # its definitions (None: withdrawn)
        self.cleared: set[bool] = set()  # kinds withdrawn all at once (options templates or not)
        self.steps: list[Step] = []
        self.counts = [0, 0, 0, 0]  # flows, options, templates, held (SetCounts' order)


class Reading(NamedTuple):
    header: Header
    scope: Scope
    steps: list[Step]
    contents: SetCounts
    findings: list[Finding]


@dataclass
class Output:
    records: list[FlowRecord] = field(default_factory=list)
    options: list[OptionsRecord] = field(default_factory=list)
    events: list[TemplateEvent] = field(default_factory=list)
    undecoded: list[Undecoded] = field(default_factory=list)


class Templated:
    def __init__(self, caps: Caps = Caps()):
        self.store = TemplateStore(caps.max_templates, caps.max_template_fields)
        self.held = HeldSets(caps.held_sets, caps.held_bytes, caps.hold_ms)
        self.origins: dict[Scope, int] = {}  # IPFIX: systemInitTimeMilliseconds per scope
        self.counts = self.store.counts  # with held, released

    # -- reading ---------------------------------------------------------------------

    def read(self, data: bytes, exporter: str, port: int) -> Reading:
        """The datagram taken apart (raises sets.Malformed)."""
        version = data[1] if len(data) >= 2 and data[0] == 0 else None
        msg = v9.parse(data) if version == 9 else ipfix.parse(data)
        h = msg.header
        r = _Read(Scope(exporter, port, h.version, h.source_id), list(msg.findings))
        for s in msg.sets:
            if s.templates:
                for spec in s.templates:
                    r.steps.append(Step("template", s, spec, self._read_template(r, s, spec)))
            else:
                self._read_data(r, s)
        flows, options, templates, held = r.counts
        if h.version == 10:  # IPFIX has no count: what it carried
            h = Header(10, flows + options, 0, h.unix_secs, 0, h.flow_sequence, 0, 0, 0, 0, h.source_id)
        elif not held and h.count != flows + options + templates:
            r.findings.append(Finding("count-mismatch", f"count {h.count}, but it carries {templates} template, "
                                                        f"{options} options and {flows} flow records (RFC 3954 "
                                                        "5.1: count is the sum of all three)"))
        return Reading(h, r.scope, r.steps, SetCounts(*r.counts), r.findings)

    def _read_template(self, r: _Read, s: SetView, spec: TemplateSpec) -> Template | None:
        """A template record: compiled (None for a withdrawal), in force for the rest of the datagram."""
        r.counts[2] += 1
        if spec.withdraw:
            if not any(f.code == "template-withdrawal-over-udp" for f in r.findings):
                r.findings.append(Finding("template-withdrawal-over-udp", (
                    f"withdraws template {spec.template_id} (RFC 7011 8.4: Template Withdrawals MUST NOT be sent "
                    "over UDP, and MUST be ignored by collectors; applied here, as nfdump and Wireshark do)")))
            if spec.template_id in (ipfix.TEMPLATE_SET, ipfix.OPTIONS_SET):
                r.cleared.add(spec.options)
                r.overlay = {k: v for k, v in r.overlay.items() if v is None or v.options != spec.options}
            else:
                r.overlay[spec.template_id] = None
            return None
        t = self._compiled(r.scope, spec, r.scope.version == 9)
        if t.size == 0:
            raise Malformed("bad-template", f"template {t.id} at offset {s.offset}: its records have no length")
        if t.misfits:
            r.findings.append(Finding("field-length", f"template {t.id}: " + "; ".join(t.misfits)
                                      + ": read as octets (RFC 7011 6.2 and 7)"))
        r.overlay[t.id] = t
        return t

    def _read_data(self, r: _Read, s: SetView) -> None:
        """A data set: read with the template in force, or marked to be held."""
        t = r.overlay[s.set_id] if s.set_id in r.overlay else self.store.get(r.scope, s.set_id)
        if t is not None and s.set_id not in r.overlay and t.options in r.cleared:
            t = None
        if t is None:
            r.counts[3] += 1
            r.steps.append(Step("hold", s))
            return
        try:
            rows, pad = t.rows(s.body)
        except SetError as exc:
            raise Malformed("bad-data-set", f"data set {s.set_id} at offset {s.offset}: {exc}") from None
        padding(f"data set {s.set_id}", pad, s.offset, r.findings)
        r.counts[1 if t.options else 0] += len(rows)
        r.steps.append(Step("data", s, None, t, rows))

    def _compiled(self, scope: Scope, spec: TemplateSpec, v9: bool) -> Template:
        """The template as compiled before, when this is a refresh of it (the usual case)."""
        old = self.store.get(scope, spec.template_id)
        if old is not None and old.fields == spec.fields and old.scope_count == spec.scope_count \
                and old.options == spec.options:
            return old
        return Template(spec.template_id, spec.fields, spec.scope_count, spec.options, v9)

    # -- committing -------------------------------------------------------------------

    def commit(self, r: Reading, ctx: Context) -> Output:
        out = Output()
        scope = r.scope
        for step in r.steps:  # options first: their boot time dates this datagram's flows
            if step.kind == "data" and step.template.options:
                self._options(step.template, step.rows, ctx, scope, out)
        index = 0
        for step in r.steps:
            if step.kind == "template":
                self._template(step, ctx, scope, out)
            elif step.kind == "data" and not step.template.options:
                index = self._flows(step.template, step.rows, ctx, scope, index, out)
            elif step.kind == "hold":
                self.counts["held"] += 1
                key = (scope, step.set.set_id)
                for gone in self.held.add(Held(key, step.set.body, ctx.recv_ms, ctx)):
                    out.undecoded.append(self._undecoded(gone, "held sets are full: the oldest is dropped",
                                                         ctx.recv_ms))
        return out

    def _template(self, step: Step, ctx: Context, scope: Scope, out: Output) -> None:
        spec, h = step.spec, ctx.header
        base = (ctx.number, ctx.exporter, ctx.port, ctx.recv_ms, h.export_ms, h.version, h.source_id,
                spec.template_id)
        if spec.withdraw:
            if spec.template_id in (ipfix.TEMPLATE_SET, ipfix.OPTIONS_SET):
                self.store.withdraw_all(scope, spec.options)
                out.events.append(TemplateEvent(*base, WITHDRAW_ALL, spec.options))
            else:
                self.store.withdraw(scope, spec.template_id)
                out.events.append(TemplateEvent(*base, WITHDRAW, spec.options))
            return
        t = step.template
        self.store.define(scope, t)
        out.events.append(TemplateEvent(*base, DEFINE, t.options, t.scope_count, t.fields))
        t = self.store.get(scope, t.id) or t  # a refresh keeps the compiled one
        for h_ in self.held.take((scope, t.id)):  # data that came before it
            self.counts["released"] += 1
            try:
                rows, _ = t.rows(h_.body)
            except SetError as exc:
                out.undecoded.append(self._undecoded(h_, f"it does not fit template {t.id} that came later: {exc}",
                                                     ctx.recv_ms, "bad-length"))
                continue
            late = Finding("data-before-template", f"its data set (datagram {h_.context.number}) came "
                                                   f"{ctx.recv_ms - h_.since_ms} ms before template {t.id} "
                                                   f"(datagram {ctx.number}): held until then")
            if t.options:
                self._options(t, rows, h_.context, scope, out)
            else:
                first = len(out.records)
                self._flows(t, rows, h_.context, scope, 0, out)
                out.records[first:] = [rec._replace(findings=(late, *rec.findings)) for rec in out.records[first:]]

    def _options(self, t: Template, rows: list, ctx: Context, scope: Scope, out: Output) -> None:
        plan = plan_of(t)
        for row in rows:
            rec = plan.options(t, row, ctx)
            out.options.append(rec)
            init = rec.values.get(INIT_NAME)
            if isinstance(init, int):
                self.origins[scope] = init

    def _flows(self, t: Template, rows: list, ctx: Context, scope: Scope, index: int, out: Output) -> int:
        build, origin = plan_of(t).build, self.origins.get(scope)
        out.records += [build(row, ctx, index + i, origin) for i, row in enumerate(rows)]
        return index + len(rows)

    # -- giving up -------------------------------------------------------------------

    def expire(self, now_ms: int) -> list[Undecoded]:
        return [self._undecoded(h, f"no template {h.key[1]} arrived within {self.held.max_ms / 1000:g} s",
                                now_ms) for h in self.held.expire(now_ms)]

    def finish(self, now_ms: int) -> list[Undecoded]:
        return [self._undecoded(h, f"no template {h.key[1]} had arrived when the collector stopped", now_ms)
                for h in self.held.drain()]

    @staticmethod
    def _undecoded(h: Held, detail: str, now_ms: int, reason: str = NO_TEMPLATE) -> Undecoded:
        c = h.context
        return Undecoded(c.number, c.exporter, c.port, c.recv_ms, c.header.version, c.header.source_id, h.key[1],
                         len(h.body), reason, detail, now_ms)
