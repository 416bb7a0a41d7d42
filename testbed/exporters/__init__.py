"""Exporters under test: how to run each NetFlow v5 exporter in a lab router, and what it claims.

model (the shared values: ExporterSpec in, Launch and Claims out) -> one module
per kind (netflow_lab, softflowd, pmacctd, fprobe; command for anything else)
-> process (start a Launch in a namespace, wait until it captures, stop it as
its Launch says). What each tool was measured doing: docs/exporters.md.
"""
from __future__ import annotations

from . import fprobe, netflow_lab, pmacctd, softflowd
from .command import CommandKind, claims_from_mapping
from .model import (BEHAVIOURS, CLAIMS, FIELDS, ICMP_DPORT, ICMP_NONE, ICMP_SPORT_DPORT, Claims, ExporterSpec,
                    Feature, Kind, Launch, Port, Process, Unsupported)
from .options import KindOptions

KINDS: dict[str, Kind] = {k.name: k for k in (netflow_lab, softflowd, pmacctd, fprobe)}
DEFAULT = netflow_lab.name
COMMAND = CommandKind.name  # any other exporter: a lab file's argv template and claims
KIND_NAMES = (*KINDS, COMMAND)  # what a lab file's `kind:` may say


def parse_exporter(text: str) -> tuple[str, int | None]:
    """`softflowd` or `softflowd@9` (a packaged kind, and the version it exports) ->
    (kind, version or None); ValueError says what is wrong (`--exporter`, compare's columns)."""
    name, at, version = text.partition("@")
    if name not in KINDS:
        raise ValueError(f"unknown exporter kind {name!r} (one of: {', '.join(KINDS)}; KIND@VERSION for a version)")
    if not at:
        return name, None
    if not version.isdigit() or int(version) not in KINDS[name].versions:
        raise ValueError(f"{name} exports NetFlow version {', '.join(map(str, KINDS[name].versions))}, "
                         f"not {version!r}")
    return name, int(version)


def kind(name: str) -> Kind:
    """A packaged kind by its lab name (`command` is built from the lab's template: CommandKind)."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown exporter kind {name!r}; known: {', '.join(KINDS)}, command") from None


__all__ = ["BEHAVIOURS", "CLAIMS", "COMMAND", "DEFAULT", "FIELDS", "ICMP_DPORT", "ICMP_NONE", "ICMP_SPORT_DPORT",
           "KINDS", "KIND_NAMES", "Claims", "CommandKind", "ExporterSpec", "Feature", "Kind", "KindOptions", "Launch",
           "Port", "Process", "Unsupported", "claims_from_mapping", "kind", "parse_exporter"]
