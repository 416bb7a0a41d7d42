"""Counters of one probe run, shared by offline mode and the control socket.

Reasons are counted by their enum (constants.Skip, constants.Expiry); their
names appear only here, where the counters leave as text or JSON."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Stats:
    packets: int = 0  # IPv4 packets accounted in flows
    octets: int = 0
    frames: int = 0  # frames seen, accounted or not
    skipped: Counter = field(default_factory=Counter)  # frames not accounted, by Skip
    truncated: int = 0  # accounted with ports 0: L4 header cut short
    flows_created: int = 0
    exported: Counter = field(default_factory=Counter)  # flows exported, by Expiry
    evictions: int = 0  # flows pushed out by cache pressure
    datagrams_sent: int = 0
    records_sent: int = 0
    templates_sent: int = 0  # v9: datagrams that carried the template set
    send_errors: int = 0
    send_retries: int = 0
    send_lost: int = 0  # datagrams given up on (per collector) after retrying
    ring_drops: int = 0  # kernel PACKET_STATISTICS drops (live capture)
    ifindex_clamped: int = 0  # records whose ifindex > 65535 was exported as 65535
    active_flows: int = 0

    def as_dict(self) -> dict:
        return {
            "frames": self.frames,
            "packets": self.packets,
            "octets": self.octets,
            "skipped": _by_label(self.skipped),
            "truncated": self.truncated,
            "flows_created": self.flows_created,
            "flows_exported": sum(self.exported.values()),
            "exported": _by_label(self.exported),
            "evictions": self.evictions,
            "active_flows": self.active_flows,
            "datagrams_sent": self.datagrams_sent,
            "records_sent": self.records_sent,
            "templates_sent": self.templates_sent,
            "send_errors": self.send_errors,
            "send_retries": self.send_retries,
            "send_lost": self.send_lost,
            "ring_drops": self.ring_drops,
            "ifindex_clamped": self.ifindex_clamped,
        }

    def summary(self) -> str:
        d = self.as_dict()
        d["skipped"] = f"{sum(self.skipped.values())} ({_inline(d['skipped'])})" \
            if self.skipped else 0  # how many, then why
        return format_counters(d)


def _by_label(counts: Counter) -> dict[str, int]:
    """Counts by reason name, in name order."""
    return dict(sorted((reason.label, n) for reason, n in counts.items()))


def format_counters(d: dict) -> str:
    """One `name: value` line per counter; a dict of counts on one line (k=v),
    a dict of such dicts (per collector) one line each."""
    lines = []
    for name, value in d.items():
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            lines += [f"{name:>15}: {key}: " + _inline(inner) for key, inner in value.items()]
        elif isinstance(value, dict):
            lines.append(f"{name:>15}: {_inline(value)}")
        else:
            lines.append(f"{name:>15}: {value}")
    return "\n".join(lines)


def _inline(counts: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in counts.items()) or "-"
