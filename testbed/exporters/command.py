"""Any other exporter: an argv template and the claims its user states.

    CommandKind(["myprobe", "-i", "{interfaces}", "-c", "{collector}", "-t", "{inactive}"],
                claims_from_mapping({"fills": ["input", "tcp_flags"], "icmp": "dport"}))

Placeholders: {interfaces} {collector} {collectors} {collector_host}
{collector_port} {inactive} {active} {scan} {engine_type} {engine_id}
{max_flows} {version} {workdir} {name}. {interfaces} and {collectors} alone in a word
give one word each, `{interfaces:-i}` gives "-i IF" for each, and inside a
longer word they are joined with commas. A template
that uses {interface} (singular) runs one process per interface, which may
also use {ifindex}, {mac} and {address}. `{{` and `}}` are literal braces.
How it starts and stops (a lab's `start:` and `stop:`) are this kind's
fields, passed on to its Launch; a stop command is a template too.
"""
from __future__ import annotations

import difflib
import re
import signal
import string
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .model import (FIELDS, ICMP_DPORT, ICMP_NONE, ICMP_SPORT_DPORT, Claims,
                    ExporterSpec, Launch, Port, Process, refuse)
from .options import NETFLOW_VERSIONS, Flags, KindOptions

LISTS = ("interfaces", "collectors")
SCALARS = ("collector", "collector_host", "collector_port", "inactive", "active", "scan",
           "engine_type", "engine_id", "max_flows", "version", "workdir", "name")
PER_INTERFACE = ("interface", "ifindex", "mac", "address")
# a list alone in its word, with an optional flag: {interfaces} or {interfaces:-i}
_LIST_WORD = re.compile(r"\{(" + "|".join(LISTS) + r")(?::([^{}]+))?\}")
ICMP_NAMES = {"dport": ICMP_DPORT, "sport-dport": ICMP_SPORT_DPORT, "none": ICMP_NONE,
              ICMP_DPORT: ICMP_DPORT, ICMP_SPORT_DPORT: ICMP_SPORT_DPORT, ICMP_NONE: ICMP_NONE}


def placeholders(template: Sequence[str]) -> list[str]:
    """Field names the template uses; ValueError names a bad one."""
    known = LISTS + SCALARS + PER_INTERFACE
    found = []
    for word in template:
        try:
            parts = list(string.Formatter().parse(word))
        except ValueError as exc:
            raise ValueError(f"argv word {word!r}: {exc}") from None
        for _, field_name, spec, conversion in parts:
            if field_name is None:
                continue
            if field_name not in known:
                raise ValueError(f"argv word {word!r}: unknown placeholder {{{field_name}}}"
                                 f"{_did_you_mean(field_name, known)}; known: "
                                 + ", ".join("{" + k + "}" for k in known))
            colon = spec or "{" + field_name + ":" in word  # `{interfaces:}` has an empty spec
            if conversion or (colon and not _LIST_WORD.fullmatch(word)):
                raise ValueError(f"argv word {word!r}: only {{interfaces:FLAG}} and {{collectors:FLAG}}, "
                                 "alone in a word and with a flag after the colon, take a flag")
            found.append(field_name)
    return found


@dataclass(frozen=True)
class CommandKind:
    template: tuple[str, ...]
    stated: Claims
    name: str = "command"
    package: str | None = None
    features: frozenset = frozenset()  # no control socket, no statistics, no records file
    versions: tuple[int, ...] = NETFLOW_VERSIONS  # whichever its template exports ({version})
    Options: type = KindOptions  # its words are its own template's: nothing typed, nothing refused
    flags: Flags = Flags()
    # How it starts and stops (a lab's `start:` and `stop:`); Launch has the meanings.
    packet_sockets: int = 1  # per process; 0 when it captures elsewhere (NFLOG, eBPF, hardware)
    settle_s: float = 0.0  # after it is ready (or after the start when packet_sockets is 0)
    ready_timeout_s: float = 15.0
    stop_signal: int = signal.SIGTERM
    stop_command: tuple[str, ...] = ()  # a template too, expanded per process; () = stop_signal
    stop_timeout_s: float = 20.0
    clean_exits: frozenset[int] = frozenset({0})
    exits: bool = False  # it ends by itself once it has sent (a replay): not asked to stop

    def __post_init__(self) -> None:
        object.__setattr__(self, "template", tuple(self.template))
        object.__setattr__(self, "stop_command", tuple(self.stop_command))
        object.__setattr__(self, "clean_exits", frozenset(self.clean_exits))
        if not self.template:
            raise ValueError("an empty command")
        used = placeholders(self.template)
        if "interface" not in used and set(used) & set(PER_INTERFACE):
            raise ValueError("{ifindex}, {mac} and {address} need {interface}: one process per interface")
        if "interface" not in used and set(placeholders(self.stop_command)) & set(PER_INTERFACE):
            raise ValueError("the stop command uses per-interface placeholders, but the command "
                             "runs one process for all interfaces")

    @property
    def per_interface(self) -> bool:
        return "interface" in placeholders(self.template)

    def claims(self, spec: ExporterSpec | None = None) -> Claims:
        return self.stated

    def launch(self, spec: ExporterSpec) -> Launch:
        refuse(spec, self.stated)
        groups = [(p,) for p in spec.interfaces] if self.per_interface else [spec.interfaces]
        processes = []
        for ports in groups:
            values = _values(spec, ports)
            argv = [w for word in self.template for w in _expand(word, values)]
            stop = [w for word in self.stop_command for w in _expand(word, values)]
            log = spec.log(f"{spec.name}.command{'-' + ports[0].name if self.per_interface else ''}.log")
            processes.append(Process(tuple(argv) + spec.args, log, stop_command=tuple(stop),
                                     packet_sockets=self.packet_sockets,
                                     exports_from=ports[0].address if self.per_interface else None))
        return Launch(processes=tuple(processes), stop_signal=self.stop_signal,
                      stop_timeout_s=self.stop_timeout_s, clean_exits=self.clean_exits,
                      ready_timeout_s=self.ready_timeout_s, settle_s=self.settle_s, exits=self.exits)


def _values(spec: ExporterSpec, ports: tuple[Port, ...]) -> dict[str, Any]:
    collectors = [f"{h}:{p}" for h, p in spec.collectors]
    values: dict[str, Any] = {
        "interfaces": [p.name for p in ports], "collectors": collectors,
        "collector": collectors[0] if collectors else None,
        "collector_host": spec.collectors[0][0] if collectors else None,
        "collector_port": spec.collectors[0][1] if collectors else None,
        "inactive": f"{spec.inactive_timeout:g}", "active": f"{spec.active_timeout:g}",
        "scan": f"{spec.scan:g}", "engine_type": spec.engine_type, "engine_id": spec.engine_id,
        "max_flows": spec.max_flows, "version": spec.version, "workdir": str(spec.workdir), "name": spec.name,
    }
    if len(ports) == 1:
        p = ports[0]
        values.update(interface=p.name, ifindex=spec.record_ifindex(p), mac=p.mac, address=p.address)
    return values


def _expand(word: str, values: dict[str, Any]) -> list[str]:
    alone = _LIST_WORD.fullmatch(word)
    if alone:
        name, flag = alone.groups()
        return [w for item in values[name] for w in ((flag, item) if flag else (item,))]
    missing = [f for f in placeholders([word]) if values.get(f) is None]
    if missing:
        raise ValueError(f"argv word {word!r}: the lab gives no value for {{{missing[0]}}}")
    return [word.format(**{k: ",".join(v) if k in LISTS else v for k, v in values.items()})]


_BOOLS = ("tos_in_key", "first_packet_flags", "expires_on_fin_rst", "later_fragments_ports_0", "exports_on_shutdown",
          "accounts_every_packet", "engine_fields", "steady_uptime", "one_export")


def claims_from_mapping(d: Mapping[str, Any]) -> Claims:
    """A `claims:` block (plain data, as YAML gives it) -> Claims; ValueError names the bad key."""
    known = ("fills", "unreliable", "icmp", "timeout_step", "timer_window", "capture_delay", "unsupported",
             "notes") + _BOOLS
    kw: dict[str, Any] = {}
    for key, value in d.items():
        if key not in known:
            raise ValueError(f"claims: unknown key {key!r}{_did_you_mean(key, known)}; known: {', '.join(known)}")
        if key == "fills":
            kw["fills"] = frozenset(_fields(value, "fills"))
        elif key == "unreliable":
            if not isinstance(value, Mapping):
                raise ValueError("claims.unreliable: expected {field: what it holds}")
            _fields(list(value), "unreliable")
            kw["unreliable"] = {k: str(v) for k, v in value.items()}
        elif key == "icmp":
            if value not in ICMP_NAMES:
                raise ValueError(f"claims.icmp: expected one of dport, sport-dport, none; got {value!r}")
            kw["icmp"] = ICMP_NAMES[value]
        elif key == "timeout_step":
            kw["timeout_step_s"] = _number(value, key, positive=True)
        elif key == "capture_delay":
            kw["capture_delay_s"] = _number(value, key)
            if kw["capture_delay_s"] < 0:
                raise ValueError(f"claims.capture_delay: expected seconds >= 0, got {value!r}")
        elif key == "timer_window":
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise ValueError("claims.timer_window: expected [lo, hi] seconds")
            lo, hi = (_number(v, key) for v in value)
            if lo > hi:
                raise ValueError(f"claims.timer_window: {lo} > {hi}")
            kw["timer_window_s"] = (lo, hi)
        elif key == "unsupported":
            if not isinstance(value, Mapping):
                raise ValueError("claims.unsupported: expected {setting: why}")
            kw["unsupported"] = {str(k): str(v) for k, v in value.items()}
        elif key == "notes":
            kw["notes"] = (value,) if isinstance(value, str) else tuple(str(v) for v in value)
        else:
            if not isinstance(value, bool):
                raise ValueError(f"claims.{key}: expected true or false, got {value!r}")
            kw[key] = value
    return Claims(**{"fills": frozenset(), **kw})


def _fields(value: Any, key: str) -> list[str]:
    items = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else None
    if items is None:
        raise ValueError(f"claims.{key}: expected a list of record fields")
    for item in items:
        if item not in FIELDS:
            raise ValueError(f"claims.{key}: unknown record field {item!r}{_did_you_mean(str(item), FIELDS)}; "
                             f"known: {', '.join(FIELDS)}")
    return items


def _number(value: Any, key: str, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (positive and value <= 0):
        raise ValueError(f"claims.{key}: expected a {'positive ' if positive else ''}number, got {value!r}")
    return float(value)


def _did_you_mean(word: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
