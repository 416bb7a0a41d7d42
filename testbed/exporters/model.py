"""What every exporter kind shares: what the lab asks, what the exporter claims, how to run it.

Plain frozen values, no I/O. A kind (softflowd.py, pmacctd.py, ...) turns an
`ExporterSpec` (the lab's words, exporter-neutral) into a `Launch` (argv and
config files in the tool's own words) and states its `Claims` (what the tool
fills and how it behaves, as measured here: docs/exporters.md).
"""
from __future__ import annotations

import math
import shlex
import signal
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Mapping, Protocol

from .. import workdir
from .options import Flags, KindOptions

# The record fields an exporter may or may not fill (names as in FlowRecord).
FIELDS = ("input", "output", "next_hop", "src_mask", "dst_mask", "tcp_flags", "tos")

# How ICMP type and code reach the record.
ICMP_DPORT = "type*256+code in dst port"  # Cisco, nfdump, ng_netflow later revisions
ICMP_SPORT_DPORT = "type in src port, code in dst port"
ICMP_NONE = "ports 0"

# Behaviours a check may rely on (`needs:` of a check, `require:` of a probe), beside the
# FIELDS: name -> (does the exporter have it, what to say when it does not)
BEHAVIOURS: dict[str, tuple] = {
    "tos_in_key": (lambda c: c.tos_in_key, lambda c: "does not put TOS in the flow key"),
    "icmp_dport": (lambda c: c.icmp == ICMP_DPORT, lambda c: f"encodes ICMP as {c.icmp}"),
    "first_packet_flags": (lambda c: c.first_packet_flags, lambda c: "loses the first packet's TCP flags"),
    "expires_on_fin_rst": (lambda c: c.expires_on_fin_rst,
                           lambda c: "does not export a TCP flow at its FIN/RST (it waits for a timeout)"),
    "later_fragments_ports_0": (lambda c: c.later_fragments_ports_0,
                                lambda c: "keys later fragments with the first fragment's ports"),
    "exports_on_shutdown": (lambda c: c.exports_on_shutdown, lambda c: "does not export its cache when stopped"),
    "engine_fields": (lambda c: c.engine_fields, lambda c: "writes 0 into the v5 engine fields"),
    "steady_uptime": (lambda c: c.steady_uptime, lambda c: "restarts sys_uptime (a collector sees resets)"),
    "one_export": (lambda c: c.one_export,
                   lambda c: "sends each collector an export of its own (one plugin per collector): nfcapd and "
                             "the referee decode different datagrams"),
}
CLAIMS = FIELDS + tuple(BEHAVIOURS)  # everything a check may need and a lab may require

# What an exporter may fail at that checks which always apply (conservation, sequence,
# timing) rely on: when it does not claim one, such a FAIL names it as the likely cause.
# name -> (does the exporter do it, what to say when not and its kind gives no `causes`)
LIMITS: dict[str, tuple] = {
    "accounts_every_packet": (lambda c: c.accounts_every_packet, "does not account every packet it captures"),
}


class Unsupported(ValueError):
    """The lab asks for a setting this exporter cannot honour (one line, says why)."""


@dataclass(frozen=True)
class Port:
    """One interface the exporter captures on, as the lab built it."""

    name: str
    ifindex: int  # the kernel's
    mac: str  # the router's own MAC on it: frames it sends carry it as source
    address: str | None = None  # an IPv4 address of the router on it


@dataclass(frozen=True)
class ExporterSpec:
    """What the lab says about one exporter, whatever the tool."""

    name: str
    interfaces: tuple[Port, ...]
    collectors: tuple[tuple[str, int], ...]  # (IPv4 address, UDP port)
    workdir: Path  # config files, control sockets and logs go here
    active_timeout: float = field(kw_only=True)  # seconds, as the plan resolved them
    inactive_timeout: float = field(kw_only=True)
    scan_interval: float | None = None  # None: the lab's default, ng_netflow's 1 s
    max_flows: int | None = None
    engine_type: int = 0
    engine_id: int = 0
    version: int = 5  # the NetFlow version it exports (10: IPFIX); one its kind speaks
    options: KindOptions | None = None  # its kind's own typed fields (its `Options`); None: their defaults
    args: tuple[str, ...] = ()  # extra words for the tool's command line, appended
    ifindex: Mapping[str, int] = field(default_factory=dict)  # the lab's overrides: ifname -> exported index
    run: int = 1  # which start of the exporter this is (1, then 2... after restarts)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ifindex", MappingProxyType(dict(self.ifindex)))

    def opts(self, cls: type[KindOptions]) -> KindOptions:
        """Its options, as the kind's `cls` (the defaults when the lab set none)."""
        return self.options if isinstance(self.options, cls) else cls()

    def record_ifindex(self, port: Port) -> int:
        """The index records should carry for a captured interface (the lab's override, else the kernel's)."""
        return self.ifindex.get(port.name, port.ifindex)

    @property
    def scan(self) -> float:
        return 1.0 if self.scan_interval is None else self.scan_interval

    def path(self, suffix: str) -> str:
        """A file of this exporter in the workdir, the same for every run: WORKDIR/NAME.SUFFIX."""
        return str(self.workdir / f"{self.name}.{suffix}")

    def log(self, name: str) -> str:
        """A log of this run: in the workdir for the first, WORKDIR/NAME-runN/ for later ones."""
        return str(workdir.run_folder(self.workdir, self.name, self.run) / name)


@dataclass(frozen=True)
class Claims:
    """What an exporter promises. A check on an unclaimed field is n/a, with the reason."""

    fills: frozenset[str]  # FIELDS it fills with what NetFlow v5 means
    unreliable: Mapping[str, str] = field(default_factory=dict)  # written, but not meaningful: field -> why
    tos_in_key: bool = False  # two TOS values of one 5-tuple make two records
    icmp: str = ICMP_NONE
    first_packet_flags: bool = True  # a lone SYN is exported with the SYN flag
    expires_on_fin_rst: bool = False  # a TCP flow is exported at its FIN/RST, not after a timeout
    timeout_step_s: float = 0.001  # timeouts are rounded up to a multiple of this (whole seconds for C tools)
    timer_window_s: tuple[float, float] = (0.0, 1.5)  # exported within [timeout+lo, timeout+hi] of its last packet
    later_fragments_ports_0: bool = True  # non-first fragments are a flow of their own, ports 0 (ng_netflow)
    exports_on_shutdown: bool = True  # stopping it as its Launch says exports the flows it holds
    accounts_every_packet: bool = True  # every packet it captured ends up in a record
    # how long a captured packet may wait before the exporter reads it (libpcap hands over a
    # ring block when it is full or its read timeout passes): stopped sooner, it never counts it
    capture_delay_s: float = 0.0
    engine_fields: bool = True  # the header's engine_type/engine_id are the lab's
    steady_uptime: bool = True  # sys_uptime counts from one start (else a collector sees restarts)
    one_export: bool = True  # every collector gets the same datagrams (not one cache and stream each)
    unsupported: Mapping[str, str] = field(default_factory=dict)  # spec setting -> why it cannot be honoured
    notes: tuple[str, ...] = ()
    # why a LIMITS entry does not hold, as measured (a FAIL it explains prints this once)
    causes: Mapping[str, str] = field(default_factory=dict)
    # the idle timeout it runs with for a kind of flow, where the lab's options set one apart
    # from inactive_timeout: "tcp", "tcp.fin", "tcp.rst", "udp", "icmp", "general" -> seconds
    idle_timeouts: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = (set(self.fills) | set(self.unreliable)) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown record field(s) {sorted(unknown)}; known: {', '.join(FIELDS)}")
        object.__setattr__(self, "fills", frozenset(self.fills))
        object.__setattr__(self, "unreliable", MappingProxyType(dict(self.unreliable)))
        object.__setattr__(self, "unsupported", MappingProxyType(dict(self.unsupported)))
        object.__setattr__(self, "idle_timeouts", MappingProxyType(dict(self.idle_timeouts)))
        object.__setattr__(self, "causes", MappingProxyType(dict(self.causes)))
        unknown = set(self.causes) - set(LIMITS)
        if unknown:
            raise ValueError(f"causes: unknown limit(s) {sorted(unknown)}; known: {', '.join(LIMITS)}")

    def reason(self, name: str, exporter: str) -> str | None:
        """Why a check on record field or behaviour `name` (CLAIMS) is n/a for this
        exporter; None when claimed."""
        if name in BEHAVIOURS:
            has, why = BEHAVIOURS[name]
            return None if has(self) else f"{exporter} {why(self)}"
        if name in self.fills:
            return None
        if name in self.unreliable:
            return f"{exporter} {self.unreliable[name]}"
        return f"{exporter} does not fill {name}"

    def cause(self, name: str, exporter: str) -> str | None:
        """What breaks LIMITS entry `name` for this exporter (None: it claims it)."""
        has, what = LIMITS[name]
        return None if has(self) else self.causes.get(name) or f"{exporter} {what}"

    def idle_timeout(self, inactive: float, proto: int | None, rst: bool = False, fin: bool = False) -> float:
        """The idle timeout a flow of `proto` expires by: the lab's inactive timeout, unless
        the exporter's own timeouts say otherwise (softflowd's engine: tcp.rst once either
        direction sent a RST, tcp.fin once both sent a FIN, else tcp, udp, icmp, general)."""
        names = {6: ("tcp.rst",) * rst + ("tcp.fin",) * fin + ("tcp",), 17: ("udp",), 1: ("icmp",)}
        return next((self.idle_timeouts[n] for n in names.get(proto, ("general",)) if n in self.idle_timeouts),
                    inactive)

    def effective_timeout(self, seconds: float) -> float:
        """The timeout the tool really runs with, for a timeout the lab asked for."""
        step = self.timeout_step_s
        return max(step, math.ceil(round(seconds / step, 6)) * step)

    def export_window(self, timeout_s: float) -> tuple[float, float]:
        """When, after a flow's last packet, a flow idle for `timeout_s` is exported (seconds)."""
        t = self.effective_timeout(timeout_s)
        lo, hi = self.timer_window_s
        return max(0.0, t + lo), t + hi


@dataclass(frozen=True)
class Process:
    """One process of a launch (softflowd and fprobe run one per interface or group)."""

    argv: tuple[str, ...]
    log: str  # file for its stdout and stderr (ExporterSpec.log: per run)
    stop_command: tuple[str, ...] = ()  # run (in the same namespace) to ask it to stop; () = stop_signal
    packet_sockets: int = 1  # AF_PACKET sockets it holds once it captures (0: do not wait for any)
    # and, when set, what its log says (as many times) once it handles its stop signal: ready then
    ready_log: str | None = None
    ready_count: int = 1
    exports_from: str | None = None  # the source address it exports from, when the launch fixes it
    # `python -m MODULE ARGS` whose main is `module:main`: the runner may fork it from a warm
    # interpreter that imported it (and `warm`) already - the same program, without its import time
    python_main: str | None = None
    warm: tuple[str, ...] = ()

    @property
    def program(self) -> str:
        """Its name in messages: `softflowd`, `python -m probe`."""
        return f"python -m {self.argv[2]}" if self.python_main else self.argv[0]

    @property
    def python_args(self) -> tuple[str, ...]:
        """The arguments after `python -m MODULE` (python_main processes)."""
        return self.argv[3:]


@dataclass(frozen=True)
class Launch:
    """How to run an exporter: pure data. The runner writes `files`, starts every
    process in the router's namespace, waits until each holds its packet sockets
    (then `settle_s` more), and stops them with `stop_command` or `stop_signal`.
    With `exits`, the processes end by themselves once they have sent (a replay of
    stored flows): one that exits is ready, the stop waits for them (stop timeout,
    then SIGKILL) without asking, and their exit statuses are judged all the same."""

    processes: tuple[Process, ...]
    files: Mapping[str, str] = field(default_factory=dict)  # path -> text, written before the start
    stop_signal: int = signal.SIGTERM
    stop_timeout_s: float = 20.0  # then SIGKILL (and the stop counts as unclean)
    clean_exits: frozenset[int] = frozenset({0})  # exit statuses of a clean stop
    ready_timeout_s: float = 15.0
    settle_s: float = 0.0
    exits: bool = False  # it ends by itself once it has sent: not asked to stop
    # What this run offers beyond exporting (its kind's `features`), where:
    control: str | None = None  # answers `python -m probe ctl` requests here; ready once it does
    stats_file: str | None = None  # writes its statistics here (JSON) when it exits
    records_file: str | None = None  # one JSON line per record it exported, with the expiry reason

    def __post_init__(self) -> None:
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))
        object.__setattr__(self, "clean_exits", frozenset(self.clean_exits))

    def describe(self) -> list[str]:
        """What runs, exactly: each command line (shell-quoted), how it stops, where it logs,
        and every file written first with its text (validate --explain, the artifacts, the
        report)."""
        out = []
        for p in self.processes:
            out.append(shlex.join(p.argv))
            if self.exits:
                out.append(f"  exits by itself once it has sent (waited for up to {self.stop_timeout_s:g} s "
                           "at the stop, then SIGKILL)")
            else:
                stop = shlex.join(p.stop_command) if p.stop_command else signal.Signals(self.stop_signal).name
                out.append(f"  stop: {stop} (then SIGKILL after {self.stop_timeout_s:g} s)")
            out.append(f"  log: {p.log}")
        for path, text in self.files.items():
            out.append(f"file {path}:" if text.strip() else f"file {path} (empty)")
            out += ["  " + line for line in text.splitlines()]
        for what in ("control", "stats_file", "records_file"):
            if getattr(self, what):
                out.append(f"{what.replace('_', ' ')}: {getattr(self, what)}")
        return out


class Feature(StrEnum):
    """What an exporter kind offers beyond exporting (a kind's `features`)."""

    CONTROL = "control"  # a control socket: `control` steps, flush on request, stats while it runs
    STATS_FILE = "stats_file"  # says how many records it sent (its statistics at exit)
    RECORDS_FILE = "records_file"  # writes every record it exported, with why it expired


class Kind(Protocol):
    name: str  # as a lab file names it
    package: str | None  # the Debian package that provides the tool (None: this project)
    features: frozenset[Feature]
    versions: tuple[int, ...]  # the NetFlow versions it exports (options.py)
    Options: type[KindOptions]  # its own typed fields (KindOptions: none)
    flags: Flags  # how its command line is read, and the words the kind writes itself

    def claims(self, spec: ExporterSpec | None = None) -> Claims: ...

    def launch(self, spec: ExporterSpec) -> Launch: ...


def whole_seconds(seconds: float) -> int:
    """A timeout for a tool that takes whole seconds: rounded up, at least 1."""
    return max(1, math.ceil(round(seconds, 6)))


def refuse(spec: ExporterSpec, claims: Claims) -> None:
    """Raise Unsupported when the spec uses a setting the claims say the tool cannot honour."""
    used = {
        "max_flows": spec.max_flows is not None,
        "engine_type": spec.engine_type != 0,
        "engine_id": spec.engine_id != 0,
    }
    for setting, why in claims.unsupported.items():
        if used.get(setting):
            raise Unsupported(f"{spec.name}: {setting}: {why}")
