"""What v9/IPFIX templates must do, judged over a collector's result (pure: the
check kinds data_decodable, template_refresh and template_redefinition in
expect/checks/ only read their fields and call these).

Each problem names the datagram (its number: a capture's packet number with
`collect --read`) and what was expected.
RFC 3954 and RFC 7011 8.4: over UDP an exporter MUST send each template again
at regular intervals (packets or time, as it is configured); RFC 7011 8.4
too: a template id may be reused with another layout over UDP only after 3
times the refresh interval (or, elsewhere, after a withdrawal).
"""
from __future__ import annotations

from collections import defaultdict

from testbed.collector.model import DEFINE, WITHDRAW, WITHDRAW_ALL, DatagramInfo, TemplateEvent, Undecoded
from testbed.collector.text import ms_text

SHOWN = 8  # problems named; the rest counted


def scope_text(exporter: str, port: int, version: int, domain: int) -> str:
    return f"{exporter}:{port} {'v9 source id' if version == 9 else 'IPFIX domain'} {domain}"


def _limit(problems: list[str]) -> list[str]:
    return problems[:SHOWN] + ([f"... and {len(problems) - SHOWN} more"] if len(problems) > SHOWN else [])


def undecodable(undecoded: list[Undecoded]) -> list[str]:
    """Data sets that never became records (no template in time, or not fitting it)."""
    return _limit([f"{scope_text(u.exporter, u.port, u.version, u.domain)}: a data set of template {u.template_id} "
                   f"({u.length} octets) in datagram {u.datagram} ({ms_text(u.recv_ms)}) was never decoded: "
                   f"{u.detail}; expected its template before it" for u in undecoded])


def _scoped(datagrams: list[DatagramInfo], events: list[TemplateEvent]):
    """Per scope: its datagrams in arrival order, and the template events of each datagram."""
    dgrams, of = defaultdict(list), defaultdict(list)
    for d in datagrams:
        if d.header.version in (9, 10):
            dgrams[(d.exporter, d.port, d.header.version, d.header.source_id)].append(d)
    for e in events:
        of[(e.exporter, e.port, e.version, e.domain, e.datagram)].append(e)
    return dgrams, of


def refresh(datagrams: list[DatagramInfo], events: list[TemplateEvent], every_packets: int | None,
            every_seconds: float | None, slack_s: float = 1.0) -> list[str]:
    """Each template in force is in at least one of every `every_packets` datagrams of its
    scope in a row (softflowd: 16, it sends them in the 1st, 17th, 33rd...), and in the first
    datagram after `every_seconds` (+ `slack_s`, export times being whole seconds) since it
    was last sent. Each lapse is said once."""
    problems = []
    dgrams, of = _scoped(datagrams, events)
    for scope, ds in dgrams.items():
        last: dict[int, list] = {}  # template id -> [datagram it was last sent in, datagrams since, said]
        options: dict[int, bool] = {}
        for d in ds:
            mine = of.get((*scope, d.number), [])
            carried = {e.template_id for e in mine if e.action == DEFINE}
            for tid, state in last.items():
                if tid in carried:
                    continue
                sent, since, said = state
                state[1] = since = since + 1
                what = (f"{scope_text(*scope)}: template {tid}, last sent in datagram {sent.number} "
                        f"({ms_text(sent.recv_ms)}), is not in datagram {d.number}")
                if every_packets is not None and since == every_packets:  # not one in N in a row
                    problems.append(f"{what}, the {since}th since: expected in one of every {every_packets} "
                                    f"datagrams")
                late = (d.recv_ms - sent.recv_ms) / 1000
                if every_seconds is not None and late > every_seconds + slack_s and not said:
                    state[2] = True
                    problems.append(f"{what} ({ms_text(d.recv_ms)}), {late:.1f} s later: expected again after "
                                    f"{every_seconds:g} s")
            for e in mine:
                if e.action == DEFINE:
                    last[e.template_id], options[e.template_id] = [d, 0, False], e.options
                elif e.action == WITHDRAW:
                    last.pop(e.template_id, None)
                elif e.action == WITHDRAW_ALL:
                    last = {t: v for t, v in last.items() if options[t] != e.options}
    return _limit(problems)


def redefinitions(events: list[TemplateEvent], reuse_after_s: float | None = None) -> list[str]:
    """A template id defined again with another layout, while the first was in force: not
    withdrawn before, and (over UDP, RFC 7011 8.4) last sent less than `reuse_after_s` before
    (None: only a withdrawal makes room)."""
    problems = []
    current: dict[tuple, TemplateEvent] = {}  # (scope, id) -> its definition's last sending
    for e in events:
        scope = (e.exporter, e.port, e.version, e.domain)
        if e.action == WITHDRAW:
            current.pop((scope, e.template_id), None)
            continue
        if e.action == WITHDRAW_ALL:
            current = {k: v for k, v in current.items() if not (k[0] == scope and v.options == e.options)}
            continue
        old = current.get((scope, e.template_id))
        current[(scope, e.template_id)] = e
        if old is None or old.layout == e.layout:
            continue
        waited = (e.recv_ms - old.recv_ms) / 1000
        if reuse_after_s is not None and waited >= reuse_after_s:
            continue
        problems.append(f"{scope_text(*scope)}: template {e.template_id} defined again in datagram {e.datagram} "
                        f"({ms_text(e.recv_ms)}) as {_layout(e)}, {waited:.1f} s after datagram {old.datagram} "
                        f"sent it as {_layout(old)}: expected a withdrawal first"
                        + (f", or {reuse_after_s:g} s without it" if reuse_after_s is not None else ""))
    return _limit(problems)


def _layout(e: TemplateEvent) -> str:
    fields = ", ".join(f"{f.id}/{f.length}" if not f.pen else f"{f.pen}.{f.id}/{f.length}" for f in e.fields)
    return ("options " if e.options else "") + f"[{fields}]"
