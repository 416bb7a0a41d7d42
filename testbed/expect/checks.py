"""The check kinds of `expect:`, each a function (spec, records, ctx) -> Verdict.

`records` are the reference collector's decoded records; `ctx` says what the
lab is and what was sent. A failure names the field, what was expected,
what was observed, and where the expectation came from.
"""
from __future__ import annotations

from collections import defaultdict

from .context import Context
from .match import Matcher, sent_flows
from .verdict import Verdict

FLAG_LETTERS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20}


def flags_value(value) -> int:
    if isinstance(value, str) and not value.lower().startswith("0x"):
        return sum(FLAG_LETTERS[c] for c in value.upper())
    return int(value, 16) if isinstance(value, str) else int(value)


def flags_text(value: int) -> str:
    return "".join(c for c, bit in FLAG_LETTERS.items() if value & bit) or "-"


def _amount(name: str, want, got: int, sent: int | None) -> str | None:
    """An exact number, a [lo, hi] range, or 'sent' (what the traffic sent)."""
    if want == "sent":
        if sent is None:
            return f"{name}: expected what was sent, but no crafted traffic matches"
        want = sent
    if isinstance(want, list):
        lo, hi = want
        if not lo <= got <= hi:
            return f"{name}: expected {lo}..{hi}, got {got}"
        return None
    if got != want:
        extra = f" (sent {sent})" if sent is not None and sent != want else ""
        return f"{name}: expected {want}, got {got}{extra}"
    return None


def check_flow(spec: dict, records: list, ctx: Context) -> Verdict:
    m = Matcher(spec.get("match", {}), ctx)
    mine = [r for r in records if m(r)]
    name, hint = spec["name"], spec.get("message", "")
    if not mine:
        return Verdict(name, "flow", False, problems=(f"no record matches {m.text}",), hint=hint)
    sent = sent_flows(m, ctx)
    sent_p = sum(t.packets for t in sent) if sent else None
    sent_o = sum(t.octets for t in sent) if sent else None
    problems: list[str] = []
    router = spec.get("router", ctx.probe_router)

    def same(field: str, want, show=lambda v: str(v), why: str = "") -> None:
        got = sorted({getattr(r, field) for r in mine}, key=str)
        if got != [want]:
            where = f" ({why})" if why else ""
            problems.append(f"{field}: expected {show(want)}{where}, got "
                            + ", ".join(show(g) for g in got))

    for key, field in (("in_if", "input"), ("out_if", "output")):
        if key in spec:
            ref = spec[key]
            want = 0 if ref in (0, "none", None) else ctx.ifindex(ref)
            same(field, want, why=str(ref))
    if "next_hop" in spec:
        same("next_hop", ctx.next_hop(str(spec["next_hop"]), router), why=str(spec["next_hop"]))
    for field, addr_of in (("dst_mask", "dst"), ("src_mask", "src")):
        if field in spec:
            addr = getattr(mine[0], addr_of)
            same(field, int(spec[field]), why=ctx.route_for(router, addr))
    if "tcp_flags" in spec:
        got = 0
        for r in mine:
            got |= r.tcp_flags
        want = flags_value(spec["tcp_flags"])
        if got != want:
            problems.append(f"tcp_flags: expected {want:#04x} {flags_text(want)}, "
                            f"got {got:#04x} {flags_text(got)}")
    total_p = sum(r.packets for r in mine)
    total_o = sum(r.octets for r in mine)
    for key, got, s in (("packets", total_p, sent_p), ("octets", total_o, sent_o),
                        ("records", len(mine), None)):
        if key in spec:
            p = _amount(key, spec[key], got, s)
            if p:
                problems.append(p)
    if "duration" in spec:
        got = (max(r.end_ms for r in mine) - min(r.start_ms for r in mine)) / 1000
        want = spec["duration"]
        if want == "sent":
            if not sent or sent[0].first is None:
                problems.append("duration: no crafted traffic matches to compare with")
            else:
                lasted = max(t.last for t in sent) - min(t.first for t in sent)
                tol = spec.get("tolerance", 0.5)
                if abs(got - lasted) > tol:
                    problems.append(f"duration: flow lasted {got * 1000:.0f} ms in the export, "
                                    f"traffic lasted {lasted:.1f} s")
        else:
            lo, hi = want
            if not lo <= got <= hi:
                problems.append(f"duration: expected {lo}..{hi} s, got {got:.3f} s")
    observed = (f"{len(mine)} record(s), {total_p} packets, {total_o} octets, "
                f"in {mine[0].input} out {mine[0].output} nh {mine[0].next_hop} "
                f"masks {mine[0].src_mask}/{mine[0].dst_mask}")
    return Verdict(name, "flow", not problems, observed, tuple(problems), hint)


def check_exported_within(spec: dict, records: list, ctx: Context) -> Verdict:
    m = Matcher(spec.get("match", {}), ctx)
    name, hint = spec["name"], spec.get("message", "")
    lo, hi = spec["window"]
    sent = [t for t in sent_flows(m, ctx) if t.last is not None]
    mine = [r for r in records if m(r)]
    if "after_step" in spec:
        ref, what = ctx.step_times[spec["after_step"]], f"step {spec['after_step']}"
    elif sent:
        ref, what = max(t.last for t in sent), "its last packet"
    else:
        return Verdict(name, "exported_within", False,
                       problems=(f"no crafted traffic matches {m.text} to time against",), hint=hint)
    if not mine:
        return Verdict(name, "exported_within", False,
                       problems=(f"no record matches {m.text} (nothing exported)",), hint=hint)
    delay = max(r.recv_ms for r in mine) / 1000 - ref
    ok = lo <= delay <= hi
    text = f"exported {delay:.2f} s after {what}"
    problems = () if ok else (f"export delay: expected {lo}..{hi} s, got {delay:.2f} s",)
    return Verdict(name, "exported_within", ok, text, problems, hint)


def check_active_split(spec: dict, records: list, ctx: Context) -> Verdict:
    m = Matcher(spec.get("match", {}), ctx)
    name, hint = spec["name"], spec.get("message", "")
    mine = [r for r in records if m(r)]
    sent = sent_flows(m, ctx)
    want_records = spec.get("min_records", 2)
    problems = []
    if len(mine) < want_records:
        problems.append(f"records: expected at least {want_records}, got {len(mine)}")
    for key in ("packets", "octets"):
        got = sum(getattr(r, key) for r in mine)
        if sent and got != sum(getattr(t, key) for t in sent):
            problems.append(f"{key}: records add up to {got}, sent {sum(getattr(t, key) for t in sent)}")
    text = f"{len(mine)} records: " + " + ".join(str(r.packets) for r in mine) + " packets"
    return Verdict(name, "active_split", not problems, text, tuple(problems), hint)


def check_conservation(spec: dict, records: list, ctx: Context) -> Verdict:
    name, hint = spec["name"], spec.get("message", "")
    m = Matcher(spec.get("match", {}), ctx)
    steps = spec.get("steps")
    got_p: dict = defaultdict(int)
    got_o: dict = defaultdict(int)
    for r in records:
        k = (r.src, r.dst, r.sport, r.dport, r.proto, r.tos)
        got_p[k] += r.packets
        got_o[k] += r.octets
    problems = []
    flows = [t for fid, t in ctx.truth.items() if m(fid) and (steps is None or t.step in steps)]
    for t in flows:
        f = t.flow
        k = (f.src, f.dst, f.sport, f.dport, f.proto, f.tos)
        if (got_p[k], got_o[k]) != (t.packets, t.octets):
            problems.append(f"{f}: sent {t.packets} packets/{t.octets} octets, "
                            f"exported {got_p[k]}/{got_o[k]}")
    sent_p = sum(t.packets for t in flows)
    shown = tuple(problems[:8]) + ((f"... and {len(problems) - 8} more flows",) if len(problems) > 8 else ())
    if not flows:
        shown = ("no crafted traffic to compare with",)
    text = f"{len(flows)} flows, {sent_p} packets sent, all exported exactly"
    return Verdict(name, "conservation", bool(flows) and not problems, text, shown, hint)


def check_sequence(spec: dict, report: list, ctx: Context) -> Verdict:
    """`report`: the collector's per-exporter ExporterReports."""
    name, hint = spec["name"], spec.get("message", "")
    if not report:
        return Verdict(name, "sequence", False, problems=("no datagram arrived",), hint=hint)
    problems = []
    for e in report:
        who = f"{e.exporter} engine {e.engine_type}/{e.engine_id}"
        for attr, what in (("records_lost", "records lost"), ("duplicates", "duplicate datagrams"),
                           ("reordered", "reordered datagrams"), ("resets", "exporter resets")):
            if getattr(e, attr):
                problems.append(f"{who}: {getattr(e, attr)} {what}")
    text = "; ".join(f"{e.exporter}: {e.datagrams} datagrams, {e.records} records, contiguous"
                     for e in report)
    return Verdict(name, "sequence", not problems, text, tuple(problems), hint)


def check_no_malformed(spec: dict, malformed: list, ctx: Context) -> Verdict:
    name, hint = spec["name"], spec.get("message", "")
    problems = tuple(f"malformed datagram from {d.exporter}: {d.reason} ({d.detail})"
                     for d in malformed[:8])
    return Verdict(name, "no_malformed", not malformed, "0 malformed datagrams", problems, hint)


def check_findings(spec: dict, records: list, ctx: Context) -> Verdict:
    """No record breaks the collector's record checks (optionally only some codes)."""
    name, hint = spec["name"], spec.get("message", "")
    codes = set(spec.get("codes", []))
    bad = [(r, f) for r in records for f in r.findings if not codes or f.code in codes]
    problems = tuple(f"{f.code}: {f.detail} ({r.src}:{r.sport} -> {r.dst}:{r.dport})"
                     for r, f in bad[:8])
    return Verdict(name, "findings", not bad, f"{len(records)} records, no findings", problems, hint)
