"""The check kinds of `expect:`, each a function (check, observed, ctx) -> Verdict.

`observed` is the reference collector's result; `ctx` says what the lab is
and what was sent. A failure names the field, what was expected, what was
observed, and where the expectation came from.
"""
from __future__ import annotations

from collections import defaultdict

from .context import Context
from .match import matcher_for, sent_flows
from .verdict import Verdict

FLAG_LETTERS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20, "E": 0x40, "C": 0x80}


def flags_text(value: int) -> str:
    return "".join(c for c, bit in FLAG_LETTERS.items() if value & bit) or "none"


def _range(name: str, want: tuple[int, int | None], got: int, unit: str = "") -> str | None:
    lo, hi = want
    if lo <= got and (hi is None or got <= hi):
        return None
    if lo == hi:
        return f"{name}: expected {lo}{unit}, got {got}{unit}"
    return f"{name}: expected {lo}..{'' if hi is None else hi}{unit}, got {got}{unit}"


def _verdict(check, ok: bool, observed: str, problems) -> Verdict:
    return Verdict(check.name, check.kind, ok, observed, tuple(problems), check.message or "")


def check_flow(check, observed, ctx: Context) -> Verdict:
    m = matcher_for(check)
    mine = [r for r in observed.find() if m(r)]  # find(): no duplicate datagrams
    if not mine:
        sent = sent_flows(m, ctx)
        why = f" ({sum(t.packets for t in sent)} packets were sent)" if sent else ""
        return _verdict(check, False, "", [f"no record matches {m.text}{why}"])
    problems: list[str] = []
    router = ctx.probe_router

    def same(field: str, want, why: str = "", show=str) -> None:
        got = sorted({getattr(r, field) for r in mine}, key=str)
        if got != [want]:
            where = f" ({why})" if why else ""
            problems.append(f"{field}: expected {show(want)}{where}, got "
                            + ", ".join(show(g) for g in got))

    for key, field in (("in_if", "input"), ("out_if", "output")):
        ref = check.get(key)
        if ref is None:
            continue
        if isinstance(ref, int):  # a literal index; for out_if 0, say what the route is
            same(field, ref, ctx.route_for(router, mine[0].dst) if key == "out_if" and not ref else "")
        else:
            kernel = ctx.kernel_ifindexes.get(ref)
            want = ctx.ifindex(ref)
            note = ref if kernel == want else f"{ref}, kernel ifindex {kernel} exported as {want}"
            same(field, want, note)
    if check.get("next_hop") is not None:
        same("next_hop", str(check.get("next_hop")), ctx.route_for(router, mine[0].dst))
    for field, addr_of in (("dst_mask", "dst"), ("src_mask", "src")):
        if check.get(field) is not None:
            same(field, check.get(field), ctx.route_for(router, getattr(mine[0], addr_of)))
    if check.get("tcp_flags") is not None:
        got = 0
        for r in mine:
            got |= r.tcp_flags
        want = check.get("tcp_flags")
        if got != want:
            problems.append(f"tcp_flags: expected {want:#04x} {flags_text(want)}, "
                            f"got {got:#04x} {flags_text(got)}")
    total_p = sum(r.packets for r in mine)
    total_o = sum(r.octets for r in mine)
    for key, got in (("packets", total_p), ("octets", total_o), ("records", len(mine))):
        if check.get(key) is not None:
            p = _range(key, check.get(key), got)
            if p:
                sent = sent_flows(m, ctx)
                if sent and key != "records":
                    p += f" (sent {sum(getattr(t, key) for t in sent)})"
                problems.append(p)
    if check.get("duration") is not None:
        lo, hi = check.get("duration")
        got = (max(r.end_ms for r in mine) - min(r.start_ms for r in mine)) / 1000
        if not lo <= got <= hi:
            sent = [t for t in sent_flows(m, ctx) if t.first is not None]
            lasted = (f", traffic lasted {max(t.last for t in sent) - min(t.first for t in sent):.1f} s"
                      if sent else "")
            problems.append(f"duration: expected {lo:g}..{hi:g} s, got {got * 1000:.0f} ms{lasted}")
    r0 = mine[0]
    text = (f"{len(mine)} record(s), {total_p} packets, {total_o} octets, in {r0.input} "
            f"out {r0.output}, next hop {r0.next_hop}, masks /{r0.src_mask} -> /{r0.dst_mask}, "
            f"flags {flags_text(r0.tcp_flags)}")
    return _verdict(check, not problems, text, problems)


def check_exported_within(check, observed, ctx: Context) -> Verdict:
    m = matcher_for(check)
    lo, hi = check.get("window")
    sent = [t for t in sent_flows(m, ctx) if t.last is not None]
    mine = [r for r in observed.find() if m(r)]  # find(): no duplicate datagrams
    after = check.get("after")
    if after is not None:
        ref, what = ctx.step_times[after], f"step {after} ended"
    elif sent:
        ref, what = max(t.last for t in sent), "its last packet"
    else:
        return _verdict(check, False, "", [f"no crafted traffic matches {m.text} to time against "
                                           "(name a step with after:)"])
    if not mine:
        return _verdict(check, False, "", [f"no record matches {m.text}: nothing was exported "
                                           f"within {hi:g} s after {what}"])
    delay = max(r.recv_ms for r in mine) / 1000 - ref
    problems = []
    if sent and sum(r.packets for r in mine) < sum(t.packets for t in sent):
        problems.append(f"only {sum(r.packets for r in mine)} of {sum(t.packets for t in sent)} "
                        "packets were exported by then")
    if not lo <= delay <= hi:
        problems.append(f"export delay: expected {lo:g}..{hi:g} s after {what}, got {delay:.2f} s")
    if check.get("records") is not None:
        p = _range("records", check.get("records"), len(mine))
        if p:
            problems.append(p)
    return _verdict(check, not problems, f"exported {delay:.2f} s after {what}", problems)


def check_active_split(check, observed, ctx: Context) -> Verdict:
    m = matcher_for(check)
    mine = [r for r in observed.find() if m(r)]  # find(): no duplicate datagrams
    sent = sent_flows(m, ctx)
    problems = []
    p = _range("records", check.get("records") or (2, None), len(mine))
    if p:
        problems.append(p)
    for key in ("packets", "octets"):
        got = sum(getattr(r, key) for r in mine)
        if check.get(key) is not None:
            p = _range(key, check.get(key), got)
            if p:
                problems.append(p)
        elif sent and got != sum(getattr(t, key) for t in sent):
            problems.append(f"{key}: records add up to {got}, sent {sum(getattr(t, key) for t in sent)}")
    text = f"{len(mine)} records: " + " + ".join(str(r.packets) for r in mine) + " packets"
    return _verdict(check, not problems, text, problems)


def check_conservation(check, observed, ctx: Context) -> Verdict:
    m = matcher_for(check)
    step = check.get("step")
    got_p: dict = defaultdict(int)
    got_o: dict = defaultdict(int)
    for r in observed.find():
        k = (r.src, r.dst, r.sport, r.dport, r.proto, r.tos)
        got_p[k] += r.packets
        got_o[k] += r.octets
    flows = [t for fid, t in ctx.truth.items()
             if m(fid) and (step is None or t.step == ctx.step_index.get(step))]
    if not flows:
        return _verdict(check, False, "", [f"no crafted traffic matches {m.text} to compare with"])
    problems = []
    for t in flows:
        f = t.flow
        k = (f.src, f.dst, f.sport, f.dport, f.proto, f.tos)
        if (got_p[k], got_o[k]) != (t.packets, t.octets):
            problems.append(f"{f}: sent {t.packets} packets / {t.octets} octets, "
                            f"exported {got_p[k]} / {got_o[k]}")
    lost_p = sum(t.packets for t in flows) - sum(min(got_p[(t.flow.src, t.flow.dst, t.flow.sport,
                                                              t.flow.dport, t.flow.proto, t.flow.tos)],
                                                        t.packets) for t in flows)
    shown = problems[:6] + ([f"... and {len(problems) - 6} more flows"] if len(problems) > 6 else [])
    if problems:
        shown.insert(0, f"{len(problems)} of {len(flows)} flows differ; {lost_p} packets missing")
    sent_p = sum(t.packets for t in flows)
    text = (f"{len(flows)} flows, {sent_p} packets: exported exactly" if not problems else
            f"{len(flows)} flows, {sent_p} packets sent; {sent_p - lost_p} of them exported")
    return _verdict(check, not problems, text, shown)


def check_sequence(check, observed, ctx: Context) -> Verdict:
    report = observed.sequence
    if not report:
        return _verdict(check, False, "", ["no datagram arrived"])
    problems = []
    for e in report:
        who = f"{e.exporter} engine {e.engine_type}/{e.engine_id}"
        for attr, what in (("records_lost", "records lost"), ("duplicates", "duplicate datagrams"),
                           ("reordered", "reordered datagrams")):
            if getattr(e, attr):
                problems.append(f"{who}: {getattr(e, attr)} {what}")
    resets = sum(e.resets for e in report)
    if resets > ctx.restarts:  # a probe the traffic restarted starts its sequence again
        problems.append(f"{resets} exporter resets, but the traffic restarted the probe "
                        f"{ctx.restarts} time(s)")
    for e in report:  # the probe numbers records from 0: a later start lost the first ones
        if e.first_sequence != 0:
            problems.append(f"{e.exporter}: the first datagram carried flow_sequence "
                            f"{e.first_sequence}: the {e.first_sequence} records before it never arrived")
    received = len(observed.find())
    if ctx.records_sent is not None and received < ctx.records_sent:  # gaps at either end
        problems.append(f"the probe sent {ctx.records_sent} records, {received} arrived: "
                        f"{ctx.records_sent - received} lost where no later datagram shows the gap")
    text = "; ".join(f"{e.exporter}: {e.datagrams} datagrams, {e.records} records, contiguous"
                     + (f" ({e.resets} restart)" if e.resets else "") for e in report)
    return _verdict(check, not problems, text, problems)


def check_no_malformed(check, observed, ctx: Context) -> Verdict:
    bad = observed.malformed
    problems = [f"malformed datagram from {d.exporter}: {d.reason} ({d.detail})" for d in bad[:8]]
    return _verdict(check, not bad, "0 malformed datagrams", problems)


def check_findings(check, observed, ctx: Context) -> Verdict:
    """No record or header breaks the collector's checks (optionally: only these codes)."""
    codes = set(check.get("codes") or ())
    found = observed.findings(lambda c: not codes or c in codes)
    problems = []
    for f in found[:8]:
        r = f.record
        where = f" ({r.src}:{r.sport} -> {r.dst}:{r.dport})" if r is not None else " (header)"
        problems.append(f"{f.code}: {f.detail}{where}")
    if len(found) > 8:
        problems.append(f"... and {len(found) - 8} more")
    return _verdict(check, not found, f"{len(observed.records)} records, no findings", problems)


CHECKS = {
    "flow": check_flow,
    "exported_within": check_exported_within,
    "active_split": check_active_split,
    "conservation": check_conservation,
    "sequence": check_sequence,
    "no_malformed": check_no_malformed,
    "findings": check_findings,
}


def evaluate(checks, observed, ctx: Context) -> list[Verdict]:
    out = []
    for check in checks:
        try:
            out.append(CHECKS[check.kind](check, observed, ctx))
        except Exception as exc:  # a check that cannot be evaluated fails, with the reason
            out.append(Verdict(check.name, check.kind, False, "",
                               (f"could not evaluate: {type(exc).__name__}: {exc}",), check.message or ""))
    return out
