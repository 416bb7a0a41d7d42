"""A probe's `kind:` - which exporter runs it - and what that kind cannot do.

    probes:
      p1: {kind: softflowd, node: r1, interfaces: [eth0], collectors: [ref], inactive_timeout: 5}
      p2: {kind: command, node: r2, interfaces: [eth0], collectors: [ref],
           command: [myprobe, -i, "{interfaces}", -n, "{collector}"], claims: {fills: [input]}}

The kind's home is its module in testbed/exporters/ (how it starts, stops and
what it claims); here the lab file is checked against it: the settings it
cannot honour, a `command:` template and its `claims:` block (errors name the
line), `require:` (claims whose checks count even when the exporter lacks
them). `--exporter KIND` (run, compare) switches every probe of a lab to KIND:
then the file's `args:`, `command:` and `claims:` belong to its own kind and
are left out.
"""
from __future__ import annotations

import shlex
from pathlib import Path

from ..exporters import CLAIMS, KINDS, CommandKind, ExporterSpec, Port, claims_from_mapping
from ..schema.fields import Reader
from ..schema.yamltree import Y
from .model import NETFLOW_LAB, Node, Probe

KIND_NAMES = (*KINDS, "command")
KIND_FIELDS = ("kind", "command", "claims", "require")


def read_kind(r: Reader, f: dict[str, Y], y: Y, override: str | None) -> dict | None:
    """kind, command, claims and require of one probe (None after reporting a problem)."""
    own = r.choice(f["kind"], KIND_NAMES, "probe kind") if "kind" in f else NETFLOW_LAB
    if own is None:
        return None
    kind = override or own
    out: dict = {"kind": kind}
    ok = True
    if own == "command" and kind == "command":
        for key in ("command", "claims"):
            if key not in f:
                r.error(y, f"kind: command needs {key}: ({'the argv template' if key == 'command' else 'what the exporter fills, {} for nothing'})", at_key=True)
                ok = False
        if "claims" in f:
            out["claims"] = _claims(r, f["claims"])
            ok = ok and out["claims"] is not None
        if "command" in f:
            out["command"] = _command(r, f["command"], out.get("claims"))
            ok = ok and out["command"] is not None
    elif own != "command":
        for key in ("command", "claims"):
            if key in f:
                r.error(f[key], f"{key}: belongs to kind: command (this probe is {own})", at_key=True)
                ok = False
    if "require" in f:
        out["require"] = _require(r, f["require"])
        ok = ok and out["require"] is not None
    return out if ok else None


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


def _command(r: Reader, y: Y, claims) -> tuple[str, ...] | None:
    if isinstance(y.value, str):
        words = shlex.split(y.value)
    elif y.is_seq and all(i.is_scalar and i.value is not None for i in y):
        words = [str(i.value) for i in y]
    else:
        r.error(y, "command: expected an argv template, a list of words or one string")
        return None
    try:
        CommandKind(words, claims or claims_from_mapping({}))
    except ValueError as exc:
        r.error(y, f"command: {exc}")
        return None
    return tuple(words)


def _require(r: Reader, y: Y) -> frozenset[str] | None:
    names = []
    for item in r.one_or_many(y):
        if item.value not in CLAIMS:
            r.error(item, f"require: unknown claim {item.value!r}; known: {', '.join(CLAIMS)}")
            return None
        names.append(item.value)
    return frozenset(names)


def exporter_spec(probe: Probe, ports: tuple[Port, ...], workdir: Path) -> ExporterSpec:
    """What the lab says about `probe`, in the exporter-neutral words of testbed/exporters."""
    return ExporterSpec(name=probe.name, interfaces=ports,
                        collectors=tuple((str(e.address), e.port) for e in probe.export),
                        workdir=workdir, active_timeout=probe.active_timeout,
                        inactive_timeout=probe.inactive_timeout, scan_interval=probe.scan_interval,
                        max_flows=probe.max_flows, engine_type=probe.engine_type,
                        engine_id=probe.engine_id, args=probe.args, ifindex=dict(probe.ifindex))


def planned_ports(probe: Probe, node: Node) -> tuple[Port, ...]:
    """The probe's interfaces as the file plans them (kernel indexes and MACs come with the build)."""
    ports = []
    for name in probe.interfaces:
        iface = node.interface(name)
        address = str(iface.addresses[0].ip) if iface is not None and iface.addresses else None
        ports.append(Port(name, (iface.ifindex if iface else None) or 0, "00:00:00:00:00:00", address))
    return tuple(ports)


def launch_problem(probe: Probe, node: Node) -> str | None:
    """Why the probe's kind cannot run it as the file says (settings it cannot honour), or None."""
    try:
        probe.exporter().launch(exporter_spec(probe, planned_ports(probe, node), Path(".")))
    except ValueError as exc:  # Unsupported, or a template the lab gives no value for
        text = str(exc).removeprefix(f"{probe.name}: ")
        return f"{probe.kind} cannot run this probe: {text}"
    return None


def senders(probe: Probe, node: Node) -> int:
    """How many processes of the probe export (each from its own address)."""
    try:
        return len(probe.exporter().launch(exporter_spec(probe, planned_ports(probe, node), Path("."))).processes)
    except ValueError:
        return 1
