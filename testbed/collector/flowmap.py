"""v9/IPFIX data records -> the one record model: FlowRecord, as v5 fills it.

Each FlowRecord field is read from whichever information element the template
carries (the first of CORE's that it has; 32- or 64-bit counters alike), IPv6
addresses as text; ICMP's type and code go into the destination port as v5
(and nfdump) put them. Times, in order of preference: absolute
milliseconds, seconds, micro/nanoseconds (NTP), deltas before the export time
(RFC 5102 158/159), then sysUpTime-relative (21/22: v9 against the header's
uptime, IPFIX against systemInitTimeMilliseconds, 160, from the record or an
options record; both wrap-aware, as 32-bit uptimes wrap every 49.7 days); a
duration (161/162) completes a missing end. Every other
field goes into `extra` under its element's name.

The mapping is compiled once per template into a small function (`Plan.source`
shows it): a record costs one call, not a walk over its fields.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from testbed.collector.checks import field_findings, uptime_findings
from testbed.collector.elements import VARIABLE, fits
from testbed.collector.model import NO_EXTRA, Finding, FlowRecord, Header, OptionsRecord
from testbed.collector.templates import Template
from testbed.collector.times import signed32

# FlowRecord field: the IANA elements that carry it, the first one present wins (ports: the
# first that is not 0, as a template may carry the TCP and the UDP ones)
CORE = {
    "src": (8, 27), "dst": (12, 28), "next_hop": (15, 62), "input": (10, 252), "output": (14, 253),
    "packets": (2, 86), "octets": (1, 85), "sport": (7, 180, 182), "dport": (11, 181, 183),
    "tcp_flags": (6,), "proto": (4,), "tos": (5,), "src_as": (16,), "dst_as": (17,),
    "src_mask": (9, 29), "dst_mask": (13, 30),
}
EITHER = ("sport", "dport")  # sourceTransportPort or udpSourcePort or tcpSourcePort: the one not 0
IPV6_ADDRESSES = frozenset({27, 28, 62})
ICMP_TYPE_CODE = (32, 139)  # icmpTypeCodeIPv4/IPv6: type * 256 + code
ICMP_TYPE_AND_CODE = ((176, 177), (178, 179))  # icmpTypeIPv4 + icmpCodeIPv4, IPv6
# (start element, end element, how its value becomes unix ms), most precise first
TIMES = ((152, 153, "{v}"), (150, 151, "{v} * 1000"), (154, 155, "{v} // 1_000_000"),
         (156, 157, "{v} // 1_000_000"), (158, 159, "export_ms - {v} // 1000"))
UPTIME = (22, 21)  # flowStartSysUpTime, flowEndSysUpTime
INIT = 160  # systemInitTimeMilliseconds
DURATIONS = ((161, "{v}"), (162, "{v} // 1000"))
SLACK_MS = 999  # v9/IPFIX export times are whole seconds: a flow may end within the second after
MASK32 = 0xFFFFFFFF


class Context(NamedTuple):
    """What every record of one datagram shares."""

    exporter: str
    port: int
    recv_ms: int
    header: Header
    number: int  # the datagram
    seq_status: str


class Plan:
    """How one template's rows become FlowRecords (or OptionsRecords)."""

    def __init__(self, t: Template):
        self.template = t
        usable = {}  # IANA id -> index of its first field that reads as its type
        for i, (f, e) in enumerate(zip(t.fields, t.elements)):
            if f.pen == 0 and f.id not in usable and f.length != VARIABLE and fits(e.type, f.length) \
                    and i >= t.scope_count:
                usable[f.id] = i
        self._usable = usable
        self.used: set[int] = set()
        self.source = "" if t.options else self._compile()
        self.build = None if t.options else self._function()

    # -- options records -------------------------------------------------------------

    def options(self, t: Template, row: tuple, ctx: Context) -> OptionsRecord:
        """(`t`: the template itself; a plan serves every template of its layout.)"""
        values = t.values(row)
        scope = _named(t, values, range(t.scope_count))
        rest = _named(t, values, range(t.scope_count, len(values)))
        return OptionsRecord(ctx.exporter, ctx.port, ctx.recv_ms, ctx.header, ctx.number, t.id, scope, rest)

    # -- flow records: a function written for this template ----------------------------

    def _take(self, ident: int) -> int | None:
        i = self._usable.get(ident)
        if i is not None:
            self.used.add(i)
        return i

    def _value(self, ident: int) -> str:
        """The expression of element `ident`'s value (taken: it is not extra)."""
        i = self._take(ident)
        return f"r{i}(v{i})" if self.template.readers[i] is not None else f"v{i}"

    def _compile(self) -> str:
        t = self.template
        exprs = {}
        ipv6 = False
        wide = None  # a 16-bit tcpControlBits (its value's expression): the bits v5 has no room for go to extra
        for name, ids in CORE.items():
            if name in EITHER:  # the ports of whichever protocol the record is
                present = [self._value(x) for x in ids if x in self._usable]
                exprs[name] = "(" + " or ".join(present) + ")" if present else "0"
                continue
            i = next((self._take(x) for x in ids if x in self._usable), None)
            if i is None:
                exprs[name] = '"0.0.0.0"' if name in ("src", "dst", "next_hop") else "0"
                continue
            reader = t.readers[i]
            exprs[name] = f"r{i}(v{i})" if reader is not None else f"v{i}"
            ipv6 |= name == "src" and t.fields[i].id in IPV6_ADDRESSES
            if name == "tcp_flags" and t.fields[i].length > 1:  # RFC 7125: 16 bits, v5 has 8
                wide = exprs[name]
                exprs[name] = f"({wide} & 0xFF)"
        if ipv6 and exprs["next_hop"] == '"0.0.0.0"':
            exprs["next_hop"] = '"::"'
        lines = [f"    {', '.join(f'v{i}' for i in range(len(t.fields)))}{',' if len(t.fields) == 1 else ''} = row"]
        lines += self._icmp(exprs)
        lines += self._times()
        extra = [i for i in range(len(t.fields)) if i not in self.used]
        if extra:
            names = _unique([t.elements[i].name for i in extra])
            lines.append("    extra = {" + ", ".join(
                f"{n!r}: " + (f"r{i}(v{i})" if t.readers[i] is not None else f"v{i}")
                for n, i in zip(names, extra)) + "}")
        else:
            lines.append("    extra = NO_EXTRA")
        if wide is not None:
            lines.append(f"    if {wide} > 0xFF:\n        extra = {{**extra, 'tcpControlBits': {wide}}}")
        e = exprs
        lines.append(f"    found = field_findings({e['proto']}, {e['sport']}, dport, {e['tcp_flags']}, "
                     f"{e['src_mask']}, {e['dst_mask']}, {e['packets']}, {e['octets']}, {ipv6})")
        lines.append("    if times_found:\n        found = times_found + found")
        lines.append(
            f"    return FlowRecord({e['src']}, {e['dst']}, {e['next_hop']}, {e['input']}, {e['output']}, "
            f"{e['packets']}, {e['octets']}, first, last, start_ms, end_ms, {e['sport']}, dport, "
            f"{e['tcp_flags']}, {e['proto']}, {e['tos']}, {e['src_as']}, {e['dst_as']}, {e['src_mask']}, "
            f"{e['dst_mask']}, extra, ctx.exporter, ctx.recv_ms, h, index, ctx.seq_status, "
            f"tuple(found) if found else (), ctx.number)")
        return "def build(row, ctx, index, origin_ms):\n" + "\n".join(lines) + "\n"

    def _icmp(self, exprs: dict) -> list[str]:
        """dport: the destination port, or for ICMP without one type * 256 + code."""
        code = next((x for x in ICMP_TYPE_CODE if x in self._usable), None)
        if code is None:
            pair = next((p for p in ICMP_TYPE_AND_CODE if p[0] in self._usable), None)
            if pair is None:
                return [f"    dport = {exprs['dport']}"]
            code_expr = f"{self._value(pair[0])} * 256" + (
                f" + {self._value(pair[1])}" if pair[1] in self._usable else "")
        else:
            code_expr = self._value(code)
        return [f"    dport = {exprs['dport']}",
                f"    if not dport and {exprs['proto']} in (1, 58):\n        dport = {code_expr}"]

    def _times(self) -> list[str]:
        """start_ms, end_ms, first, last and times_found from the record's time elements."""
        u = self._usable
        start = next((expr.format(v=self._value(a)) for a, _, expr in TIMES if a in u), None)
        end = next((expr.format(v=self._value(b)) for _, b, expr in TIMES if b in u), None)
        out = ["    h = ctx.header", "    export_ms = h.unix_secs * 1000 + h.unix_nsecs // 1_000_000"]
        if INIT in u:
            out.append(f"    origin_ms = {self._value(INIT)}")
        if start is None and end is None and (UPTIME[0] in u or UPTIME[1] in u):
            first = self._value(UPTIME[0]) if UPTIME[0] in u else None
            last = self._value(UPTIME[1]) if UPTIME[1] in u else None
            out += [f"    first, last = {first or last}, {last or first}",
                    "    if h.version == 9:",
                    "        up = h.sys_uptime",
                    "        start_ms, end_ms = export_ms - signed32(up - first), export_ms - signed32(up - last)",
                    "        times_found = uptime_findings(first, last, up)",
                    "    elif origin_ms is not None:  # the uptime then, wrap-aware as v9's",
                    "        up = export_ms - origin_ms",
                    "        start_ms, end_ms = export_ms - signed32(up - first), export_ms - signed32(up - last)",
                    "        times_found = absolute_findings(start_ms, end_ms, export_ms)",
                    "    else:",
                    "        start_ms = end_ms = export_ms",
                    "        times_found = [UNKNOWN_ORIGIN]"]
            return out
        d = next((expr.format(v=self._value(x)) for x, expr in DURATIONS if x in u), None)
        out += [f"    start_ms = {start}", f"    end_ms = {end}"]
        if d is not None:
            out += ["    if end_ms is None and start_ms is not None:", f"        end_ms = start_ms + {d}",
                    "    elif start_ms is None and end_ms is not None:", f"        start_ms = end_ms - {d}"]
        out += ["    if start_ms is None:", "        start_ms = export_ms if end_ms is None else end_ms",
                "    if end_ms is None:", "        end_ms = start_ms",
                "    times_found = absolute_findings(start_ms, end_ms, export_ms)",
                # the uptime fields, as far as an uptime is known
                "    if h.version == 9:",
                "        first = (h.sys_uptime - (export_ms - start_ms)) & MASK32",
                "        last = (h.sys_uptime - (export_ms - end_ms)) & MASK32",
                "    elif origin_ms is not None:",
                "        first, last = (start_ms - origin_ms) & MASK32, (end_ms - origin_ms) & MASK32",
                "    else:",
                "        first = last = 0"]
        return out

    def _function(self):
        env = dict(FlowRecord=FlowRecord, NO_EXTRA=NO_EXTRA, signed32=signed32, MASK32=MASK32,
                   field_findings=field_findings, uptime_findings=uptime_findings,
                   absolute_findings=absolute_findings, UNKNOWN_ORIGIN=UNKNOWN_ORIGIN)
        env.update({f"r{i}": r for i, r in enumerate(self.template.readers) if r is not None})
        exec(compile(self.source, f"<plan of template {self.template.id}>", "exec"), env)  # noqa: S102
        return env["build"]


UNKNOWN_ORIGIN = Finding("uptime-origin-unknown", "flowStart/EndSysUpTime without systemInitTimeMilliseconds "
                         "(in the record or an options record before it): times unknown")


def absolute_findings(start_ms: int, end_ms: int, export_ms: int) -> list[Finding]:
    out = []
    if end_ms - export_ms > SLACK_MS:
        out.append(Finding("end-after-export", f"the flow ends {end_ms - export_ms} ms after its datagram's "
                                               f"export time (whole seconds: {SLACK_MS} ms allowed)"))
    if start_ms > end_ms:
        out.append(Finding("first-after-last", f"start {start_ms} > end {end_ms}"))
    return out


def _named(t: Template, values: tuple, indexes) -> dict:
    names = _unique([t.elements[i].name for i in indexes])
    return dict(zip(names, (values[i] for i in indexes)))


def _unique(names: list[str]) -> list[str]:
    """A name seen again gets #2, #3...: a template may carry an element twice."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
    return out


_PLANS: OrderedDict[tuple, Plan] = OrderedDict()  # by layout: many exporters send the same templates
MAX_PLANS = 512


def plan_of(t: Template) -> Plan:
    if t.plan is None:
        key = (t.fields, t.scope_count, t.options, t.elements)
        t.plan = _PLANS.pop(key, None) or Plan(t)
        _PLANS[key] = t.plan
        if len(_PLANS) > MAX_PLANS:
            _PLANS.popitem(last=False)
    return t.plan
