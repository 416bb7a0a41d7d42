"""A probe's `kind:` - which exporter runs it - and what that kind cannot do.

    probes:
      p1: {kind: softflowd, node: r1, interfaces: [eth0], collectors: [ref], inactive_timeout: 5}
      p2: {kind: command, node: r2, interfaces: [eth0], collectors: [ref],
           command: [myprobe, -i, "{interfaces}", -n, "{collector}"], claims: {fills: [input]},
           start: {packet_sockets: 0, settle: 1}, stop: {signal: INT, timeout: 5, exits: [0, SIGINT]}}
      p3: {kind: command, node: r3, interfaces: [eth0], collectors: [ref], claims: {},
           command: [nfreplay, -r, flows.nfcapd, -H, "{collector_host}", -p, "{collector_port}", -v, "5"],
           start: {exits: true}}         # it sends and exits: its exit status is judged

The kind's home is its module in testbed/exporters/ (how it starts, stops and
what it claims); here the lab file is checked against it: the settings it
cannot honour, a `command:` template, its `claims:` block and how it starts
and stops (`start:`, `stop:`; errors name the line), `require:` (claims whose checks count even when the exporter lacks
them). `--exporter KIND` (run, compare) switches every probe of a lab to KIND:
then the file's `args:`, `command:` and `claims:` belong to its own kind and
are left out.
"""
from __future__ import annotations

import difflib
import re
import shlex
import signal

from ..collector import DECODES
from ..exporters import CLAIMS, COMMAND, KIND_NAMES, KINDS, CommandKind, claims_from_mapping, parse_exporter
from ..exporters.command import placeholders
from ..exporters.options import Count, NamedTimeouts, Pattern, Seconds, collisions, declared, refused_words
from ..schema.fields import Reader
from ..schema.yamltree import Y
from .model import NETFLOW_LAB

# each packaged kind's own typed fields (its Options): field -> the kinds that declare it
OPTION_KINDS: dict[str, list[str]] = {}
for _k in KINDS.values():
    for _f in declared(_k.Options):
        OPTION_KINDS.setdefault(_f.name, []).append(_k.name)
KIND_FIELDS = ("kind", "command", "claims", "require", "start", "stop", "version", *OPTION_KINDS)
COMMAND_ONLY = ("command", "claims", "start", "stop")
STOP_SIGNALS = ("TERM", "INT", "HUP", "QUIT", "USR1", "USR2", "KILL")


def read_kind(r: Reader, f: dict[str, Y], y: Y, override: str | None) -> dict | None:
    """The exporter kind (`kind:`, and for a command its `command:`, `claims:`, `start:`,
    `stop:`), its `version:`, its own typed options, `require:`, and whether `args:` gives
    a word the kind writes itself, of one probe, as Probe fields (None after reporting a
    problem). `override`: KIND or KIND@VERSION (--exporter) runs it instead; the file's
    options and args belong to its own kind: checked against it, then left out."""
    own = r.choice(f["kind"], KIND_NAMES, "probe kind") if "kind" in f else NETFLOW_LAB
    if own is None:
        return None
    kind, forced = parse_exporter(override) if override else (own, None)
    out: dict = {}
    ok = True
    if own == COMMAND and kind == COMMAND:
        out["exporter"] = _command_kind(r, f, y)
        ok = out["exporter"] is not None
    else:
        out["exporter"] = KINDS.get(kind)
    if own != COMMAND:
        for key in COMMAND_ONLY:
            if key in f:
                r.error(f[key], f"{key}: belongs to kind: command (this probe is {own})", at_key=True)
                ok = False
    mine, args_ok = _options(r, f, own), _args(r, f, own)  # each reports its own problems
    ok = ok and mine is not None and args_ok
    if mine is not None:
        options, fields = mine
        out.update(fields)  # a named timeout that is the probe's active timeout stays that
        if kind == own and options is not None:
            out["options"] = options
    if out["exporter"] is not None:
        out["version"] = _version(r, f, y, out["exporter"], forced, override)
        ok = ok and out["version"] is not None
    if "require" in f:
        out["require"] = _require(r, f["require"])
        ok = ok and out["require"] is not None
    return out if ok else None


def _version(r: Reader, f: dict[str, Y], y: Y, exporter, forced: int | None, override: str | None) -> int | None:
    """`version:` (or --exporter KIND@VERSION): one the kind exports and the referee judges."""
    where = f.get("version", y)
    if forced is not None:
        version = forced
    elif "version" in f:
        version = r.integer(f["version"], 1, 10, "a NetFlow version")
        if version is None:
            return None
    else:
        return 5  # every kind's default, as r135400 exports
    if version not in exporter.versions:
        via = f" (--exporter {override})" if override else ""
        r.error(where, f"version: {exporter.name}{via} exports NetFlow version "
                       f"{', '.join(map(str, exporter.versions))}, not {version}", at_key=True)
        return None
    if version not in DECODES:
        r.error(where, f"version: {version}: the reference collector judges NetFlow version "
                       f"{', '.join(map(str, DECODES))} only", at_key=True)
        return None
    return version


def _options(r: Reader, f: dict[str, Y], own: str) -> tuple | None:
    """The typed fields of the probe's own kind: (its Options or None, the probe fields
    a named timeout is: active_timeout, scan_interval); another kind's field is an error
    at its line."""
    cls = KINDS[own].Options if own in KINDS else None
    fields = {fd.name: fd for fd in declared(cls)} if cls else {}
    values, extra, ok = {}, {}, True
    for key in OPTION_KINDS:
        if key not in f:
            continue
        if key not in fields:
            r.error(f[key], f"{key}: belongs to kind: {', '.join(OPTION_KINDS[key])} (this probe is {own})",
                    at_key=True)
            ok = False
            continue
        got = _option(r, f[key], fields[key].metadata["value"], own)
        if got is None:
            ok = False
            continue
        values[key], aliases = got
        for name, (field, seconds, y) in aliases.items():
            if field in f:
                r.error(y, f"{key}.{name} is {field}: give {field}: or {key}: {{{name}}}, not both", at_key=True)
                ok = False
            extra[field] = seconds
    if not ok:
        return None
    return (cls(**values) if cls else None), extra


def _option(r: Reader, y: Y, value, own: str):
    """One typed field's value (None after reporting why) and the named timeouts that are
    a probe field ({name: (field, seconds, where)})."""
    if isinstance(value, Count):
        got = r.integer(y, value.lo, value.hi, value.what)
        return None if got is None else (got, {})
    if isinstance(value, Seconds):
        got = r.number(y, positive=True, hi=value.hi)
        return None if got is None else (got, {})
    if isinstance(value, Pattern):
        text = str(y.value) if y.is_scalar and y.value is not None else None
        if text is None or not re.match(value.regex, text):
            r.error(y, f"expected {value.what}, got {y.value!r}")
            return None
        return text, {}
    items = r.mapping(y, "names to values")
    if items is None:
        return None
    pairs, aliases, ok = [], {}, True
    for key, v in items.items():
        if isinstance(value, NamedTimeouts):
            if key not in value.names:
                r.error(v, f"unknown timeout {key!r}" + _did_you_mean(key, value.names)
                           + f" (one of: {', '.join(value.names)})", at_key=True)
                ok = False
                continue
            seconds = r.number(v, positive=True, hi=2**32 // 1000)
            if seconds is None:
                ok = False
            elif key in value.aliases:
                aliases[key] = (value.aliases[key], seconds, v)
            else:
                pairs.append((key, seconds))
        else:  # ConfigLines
            why = value.refusal(key)
            if why is not None:
                r.error(v, f"{key} is set by the {own} kind: {why}", at_key=True)
                ok = False
            elif not v.is_scalar or v.value is None or "\n" in str(v.value):
                r.error(v, f"{key}: expected one value on its line, got {v.plain()!r}")
                ok = False
            else:
                pairs.append((key, str(v.value).lower() if isinstance(v.value, bool) else str(v.value)))
    return (tuple(pairs), aliases) if ok else None


def _args(r: Reader, f: dict[str, Y], own: str) -> bool:
    """False (after saying which to write instead) when `args:` gives a word its kind writes."""
    if own not in KINDS or "args" not in f or not f["args"].is_seq:
        return True
    items = list(f["args"])
    words = tuple(str(i.value) for i in items)
    k = KINDS[own]
    found = collisions(words, k.flags, refused_words(k.flags, k.Options))
    for index, flag, instead in found:
        r.error(items[index], f"{flag} is set by the {own} kind: {instead}")
    return not found


def _did_you_mean(word: str, known) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _command_kind(r: Reader, f: dict[str, Y], y: Y) -> CommandKind | None:
    """kind: command - its argv template, the claims its user states, how it starts and stops."""
    ok = True
    for key in ("command", "claims"):
        if key not in f:
            r.error(y, f"kind: command needs {key}: ({'the argv template' if key == 'command' else 'what the exporter fills, {} for nothing'})", at_key=True)
            ok = False
    claims = _claims(r, f["claims"]) if "claims" in f else None
    command = _command(r, f["command"], claims) if "command" in f else None
    process = {}
    for key, read in (("start", _start), ("stop", _stop)):
        if key in f:
            got = read(r, f[key])
            ok = ok and got is not None
            process.update(got or {})
    if not ok or claims is None or command is None:
        return None
    try:
        return CommandKind(command, claims, **process)
    except ValueError as exc:
        r.error(f["stop"], f"stop: {exc}", at_key=True)
        return None


def _claims(r: Reader, y: Y):
    if not y.is_map:
        r.error(y, "claims: expected a mapping (fills:, icmp:, tos_in_key: ...; {} claims nothing)")
        return None
    ok = True
    for key, value in y.items():  # one key at a time, so that an error names its line
        try:
            claims_from_mapping({key: value.plain()})
        except ValueError as exc:
            r.error(value, str(exc), at_key=True)
            ok = False
    return claims_from_mapping(y.plain()) if ok else None


def _words(r: Reader, y: Y, what: str) -> tuple[str, ...] | None:
    """An argv template: a list of words or one string (split as a shell would)."""
    if isinstance(y.value, str):
        try:
            words = shlex.split(y.value)
        except ValueError as exc:
            r.error(y, f"{what}: {exc}")
            return None
    elif y.is_seq and all(i.is_scalar and i.value is not None for i in y):
        words = [str(i.value) for i in y]
    else:
        words = []
    if not words:
        r.error(y, f"{what}: expected an argv template, a list of words or one string")
        return None
    try:
        placeholders(words)
    except ValueError as exc:
        r.error(y, f"{what}: {exc}")
        return None
    return tuple(words)


def _command(r: Reader, y: Y, claims) -> tuple[str, ...] | None:
    words = _words(r, y, "command")
    if words is None:
        return None
    try:
        CommandKind(words, claims or claims_from_mapping({}))
    except ValueError as exc:
        r.error(y, f"command: {exc}")
        return None
    return tuple(words)


def _start(r: Reader, y: Y) -> dict | None:
    """start: {packet_sockets: N, settle: S, timeout: S, exits: BOOL} -> CommandKind keywords."""
    f = r.fields(y, (), ("packet_sockets", "settle", "timeout", "exits"),
                 "how the exporter starts: packet_sockets, settle, timeout, exits")
    if f is None:
        return None
    out = {}
    if "exits" in f:  # it ends by itself once it has sent (a replay): it captures nothing, by default
        out["exits"] = r.boolean(f["exits"])
        if out["exits"] and "packet_sockets" not in f:
            out["packet_sockets"] = 0
    if "packet_sockets" in f:  # 0: it captures some other way; do not wait for any
        out["packet_sockets"] = r.integer(f["packet_sockets"], 0, 64, "a socket count")
    if "settle" in f:
        out["settle_s"] = r.number(f["settle"], hi=600)
    if "timeout" in f:
        out["ready_timeout_s"] = r.number(f["timeout"], positive=True, hi=3600)
    return None if None in out.values() else out


def _stop(r: Reader, y: Y) -> dict | None:
    """stop: {signal: INT, command: ..., timeout: S, exits: [0, 1]} -> CommandKind keywords."""
    f = r.fields(y, (), ("signal", "command", "timeout", "exits"),
                 "how the exporter stops: signal, command, timeout, exits")
    if f is None:
        return None
    out: dict = {}
    if "signal" in f:
        out["stop_signal"] = _signal(f["signal"].value)
        if out["stop_signal"] is None:
            r.error(f["signal"], f"stop: unknown signal {f['signal'].value!r} "
                                 f"(one of: {', '.join(STOP_SIGNALS)})")
    if "command" in f:
        out["stop_command"] = _words(r, f["command"], "stop: command")
    if "timeout" in f:  # then SIGKILL, and the stop is unclean
        out["stop_timeout_s"] = r.number(f["timeout"], positive=True, hi=3600)
    if "exits" in f:
        codes = [_exit(r, i) for i in r.one_or_many(f["exits"])]
        out["clean_exits"] = None if None in codes else frozenset(codes)
    return None if None in out.values() else out


def _signal(v) -> signal.Signals | None:
    """INT or SIGINT (one of STOP_SIGNALS) -> the signal; None for anything else."""
    name = v[3:] if isinstance(v, str) and v.startswith("SIG") else v
    return signal.Signals["SIG" + name] if isinstance(name, str) and name in STOP_SIGNALS else None


def _exit(r: Reader, y: Y) -> int | None:
    """An exit status 0..255, or a signal that ended it (INT, SIGINT: what Popen calls -2)."""
    v = y.value
    if _signal(v) is not None:
        return -_signal(v)
    if isinstance(v, str):
        r.error(y, f"stop: exits: expected an exit status 0..255 or a signal "
                   f"({', '.join(STOP_SIGNALS)}), got {v!r}")
        return None
    return r.integer(y, 0, 255, "an exit status")


def _require(r: Reader, y: Y) -> frozenset[str] | None:
    names = []
    for item in r.one_or_many(y):
        if item.value not in CLAIMS:
            r.error(item, f"require: unknown claim {item.value!r}; known: {', '.join(CLAIMS)}")
            return None
        names.append(item.value)
    return frozenset(names)
