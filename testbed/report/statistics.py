"""The probes' and collectors' statistics as HTML tables.

Probes: every counter of each run, at exit (and what only `stats` over the
control socket knows, asked just before the stop: ring packets, route
refreshes). Collectors: datagrams, records, malformed datagrams, findings,
socket facts, and the sequence report per exporter and engine.
Element ids: `probe-stats-NAME`, `collector-stats-NAME` (prefixed).
"""
from __future__ import annotations

from .markup import esc, table

SEQUENCE_FIELDS = ("datagrams", "records", "records_lost", "gaps", "duplicates", "reordered", "resets",
                   "nfcapd_failures", "first_sequence", "next_sequence")


def probes(result, prefix: str = "") -> str:
    out = []
    for name, runs in probe_runs(result).items():
        merged = [_flat({**(r["before_stop"] or {}), **r["final"]}) for r in runs]
        keys = list(dict.fromkeys(k for m in merged for k in m))
        head = ["counter"] + [f"run {r['run']}" + ("" if r["final"] else " (no exit summary)") for r in runs]
        rows = [[k] + [m.get(k, "") for m in merged] for k in keys]
        out.append(f"<h3>probe {esc(name)}</h3>" + table(head, rows, id=f"{prefix}probe-stats-{name}",
                                                           class_="stats"))
    return "".join(out) or "<p>No probe ran.</p>"


def probe_runs(result) -> dict[str, list[dict]]:
    """Probe name -> per run: {"run": N, "final": counters at exit, "before_stop": `stats` just before}."""
    return {name: [{"run": e.run, "final": e.stats or {}, "before_stop": e.before_stop} for e in ends]
            for name, ends in result.runs.items()}


def collectors(result, prefix: str = "") -> str:
    out = []
    for name, res in result.collectors.items():
        s = res.summary
        facts = [["datagrams", s.datagrams], ["records", s.records],
                 ["malformed datagrams", _pairs(s.malformed) or 0], ["findings", _pairs(s.findings) or "none"],
                 ["complete", "yes" if res.complete else "no (no summary line: rebuilt from the records)"]]
        facts += [[k.replace("_", " "), v] for k, v in sorted(res.live.items()) if not isinstance(v, dict)]
        seq = [[str(e.stream)] + [getattr(e, f) for f in SEQUENCE_FIELDS]  # v5 engine, v9 source id, IPFIX domain
               for e in s.sequence]
        out.append(f"<h3>collector {esc(name)}</h3>"
                   + table(["", "value"], facts, id=f"{prefix}collector-stats-{name}", class_="stats")
                   + (table(["exporter"] + [f.replace("_", " ") for f in SEQUENCE_FIELDS], seq, class_="stats")
                      if seq else ""))
    return "".join(out) or "<p>No collector ran.</p>"


def _flat(d: dict) -> dict:
    """{"exported": {"inactive": 4}} -> {"exported: inactive": 4}."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update({f"{k}: {kk}": vv for kk, vv in v.items()} or {k: "-"})
        else:
            out[k] = v
    return out


def _pairs(d: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items()))
