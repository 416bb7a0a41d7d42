"""The datagram stream of each exporter and engine: flow_sequence against time.

What the collector received (a dot per datagram, a bar over the records it
carried, coloured by its sequence status; a gap shaded over the records that
never came), what the probe says it sent (its records file: hollow rings,
a red cross for each datagram no reference collector received) and, when the
export tap impaired the traffic, what it did to each datagram (its log,
`impair-PROBE[-COLLECTOR].jsonl`) drawn above on the same axes: ground truth
beside the observed. Marks get text only while there are few of them.
Element ids: `seq-N` (the figure), `seq-N-gap-K`, `seq-N-duplicate-K`,
`seq-N-reordered-K`, `seq-N-reset-K`, `seq-N-lost-K` (prefixed with the lab's).

Bounded whatever the lab: at most MAX_CHARTS charts (`charted`: the streams
with something to see first; the others are a table row each), and in a
chart at most MAX_POINTS points per kind of mark (a flood of datagrams is a
line through every k-th one) and MAX_MARKS marks with an id. `Stream.thinned`
says what a chart left out, for the page to say so.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ..collector.model import DUPLICATE, FIRST, GAP, IN_ORDER, REORDERED, RESET
from . import svg
from .lanes import probe_of_exporter
from .markup import clock, count
from .timeline import x_range

STATUS_COLORS = {FIRST: "#4a6fa5", IN_ORDER: "#4a6fa5", GAP: "#cb181d", DUPLICATE: "#ff7f00",
                 REORDERED: "#984ea3", RESET: "#000000"}
ACTION_STYLE = {"pass": ("o", "#9e9e9e"), "drop": ("X", "#cb181d"), "duplicate": ("P", "#ff7f00"),
                "reorder": ("s", "#984ea3"), "delay": ("D", "#377eb8"), "unsent": ("x", "#000000")}
MARKED = (GAP, DUPLICATE, REORDERED, RESET)  # statuses that get an element id and a line in the list
MAX_LABELS = 6  # more marks than this: no text beside them (they would overlap); the list below has it
MAX_CHARTS = 8  # charts per page section (each is ~0.1 s of matplotlib and ~60 KB)
MAX_POINTS = 2000  # points of one kind drawn in a chart; more: every k-th
MAX_MARKS = 50  # gaps, duplicates, ... drawn with an element id (and listed) per stream
WIDTH_IN = 11.0


@dataclass(frozen=True)
class Received:
    t: float  # unix seconds
    seq: int
    count: int
    status: str
    missing: int = 0  # gap: records skipped before it
    detail: str = ""  # reset: why


@dataclass(frozen=True)
class Sent:
    t: float
    seq: int
    count: int
    run: int
    arrived: bool


@dataclass
class Stream:
    exporter: str
    engine_type: int
    engine_id: int
    probe: str  # "" when no probe of the lab has that address and engine
    received: list[Received] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    impairments: list = field(default_factory=list)  # workfiles.Impairment
    id: str = ""  # `seq-N`

    @property
    def title(self) -> str:
        who = f"probe {self.probe}, " if self.probe else ""
        return f"{who}exporter {self.exporter}, engine {self.engine_type}/{self.engine_id}"

    @property
    def remarkable(self) -> bool:
        """Something to see: a gap, duplicate, reorder or reset, a datagram lost, the tap's work."""
        return (any(d.status in MARKED for d in self.received) or any(not d.arrived for d in self.sent)
                or bool(self.impairments))

    def thinned(self) -> list[str]:
        """What a chart of this stream leaves out, in words (empty: nothing)."""
        out = []
        if len(self.received) > MAX_POINTS:
            out.append(f"{len(self.received)} datagrams received, drawn as a line through every "
                       f"{_step(len(self.received))}th")
        marked = len(self.events()) + sum(not d.arrived for d in self.sent)
        if marked > MAX_MARKS:
            out.append(f"{marked} gaps, duplicates, reorders, resets and lost datagrams, the first "
                       f"{MAX_MARKS} of each kind marked and listed")
        if len(self.impairments) > MAX_POINTS:
            out.append(f"{len(self.impairments)} fates of the tap, every {_step(len(self.impairments))}th drawn")
        return out

    def events(self) -> list[tuple[str, Received]]:
        """(element id suffix, datagram) of every gap, duplicate, reorder and reset, in order."""
        counts: dict[str, int] = defaultdict(int)
        out = []
        for d in self.received:
            if d.status in MARKED:
                out.append((f"{d.status}-{counts[d.status]}", d))
                counts[d.status] += 1
        return out


def streams(result) -> list[Stream]:
    topo = result.topology
    who = probe_of_exporter(topo) if topo else {}
    out: dict[tuple, Stream] = {}

    def stream(exporter: str, et: int, ei: int) -> Stream:
        key = (exporter, et, ei)
        if key not in out:
            out[key] = Stream(exporter, et, ei, who.get(key, ""))
        return out[key]

    arrived: set[tuple] = set()
    for res in result.collectors.values():
        for d in res.datagrams:
            h = d.header
            stream(d.exporter, h.engine_type, h.engine_id).received.append(
                Received(d.recv_ms / 1000, h.flow_sequence, h.count, d.seq_status, d.missing, d.reason))
            arrived.add((who.get((d.exporter, h.engine_type, h.engine_id)), h.flow_sequence, h.export_ms))
    by_probe = {p: k for k, p in who.items()}
    wf = result.workfiles
    for probe, rows in (wf.sent.items() if wf else ()):
        key = _exporter_of(probe, by_probe, out)
        if key is None:
            continue
        seen = set()
        for r in rows:
            if (r.run, r.flow_sequence, r.export_ms) not in seen:
                seen.add((r.run, r.flow_sequence, r.export_ms))
                stream(*key).sent.append(Sent(r.export_ms / 1000, r.flow_sequence, r.count, r.run,
                                              (probe, r.flow_sequence, r.export_ms) in arrived))
    for (probe, _), rows in (wf.impairments.items() if wf else ()):
        key = _exporter_of(probe, by_probe, out)
        if key is not None:
            stream(*key).impairments += rows
    ordered = sorted(out.values(), key=lambda s: (s.probe or "~", s.exporter, s.engine_type, s.engine_id))
    for i, s in enumerate(ordered):
        s.id = f"seq-{i}"
    return ordered


def charted(streams: list[Stream]) -> set[str]:
    """The ids of the streams drawn as charts: at most MAX_CHARTS, those with something
    to see first, then in order."""
    ranked = sorted(streams, key=lambda s: not s.remarkable)  # stable: in order within each
    return {s.id for s in ranked[:MAX_CHARTS]}


def _step(n: int) -> int:
    return -(-n // MAX_POINTS)


def _thin(items: list) -> list:
    """At most MAX_POINTS of them: every k-th."""
    return items[::_step(len(items))] if len(items) > MAX_POINTS else items


def _exporter_of(probe: str, by_probe: dict, streams: dict) -> tuple | None:
    """The stream a probe's own files belong to: the exporter address the
    collector saw for it, else the first address of its router."""
    mine = [k for k, s in streams.items() if s.probe == probe]
    return mine[0] if mine else by_probe.get(probe)


def draw(s: Stream, prefix: str = "", window: tuple[float, float] | None = None) -> str:
    """The stream as <svg>, over `window` (unix seconds; default: its first and
    last datagram), drawn as seconds since the window's start."""
    times = [d.t for d in s.received] + [d.t for d in s.sent] + [i.t for i in s.impairments]
    if not times:
        return ""
    t0, t_end = window or (min(times), max(times))
    with svg.style(prefix + s.id):
        panels = 2 if s.impairments else 1
        fig = svg.figure(WIDTH_IN, 0.9 + 2.0 * panels)
        axes = fig.subplots(panels, 1, sharex=True, sharey=True, squeeze=False)[:, 0]
        seen = axes[-1]
        if s.impairments:
            _impairments(axes[0], s, t0)
        labels = len(s.events()) + sum(not d.arrived for d in s.sent) <= MAX_LABELS
        _sent(seen, s, t0, prefix, labels)
        _received(seen, s, t0, prefix, labels)
        seen.set_title("received by the collector" + (", and what the probe sent" if s.sent else ""),
                       fontsize=8, loc="left")
        seen.set_xlabel(f"seconds since {clock(t0)}")
        seen.set_xlim(*x_range(t0, t_end))
        seen.yaxis.set_major_locator(MaxNLocator(integer=True))
        for ax in axes:
            ax.set_ylabel("flow_sequence")
            ax.grid(color="#e5e5e5", lw=0.5)
            ax.set_axisbelow(True)
        fig.legend(handles=_legend(s), loc="upper center", ncol=8, fontsize=7, frameon=False)
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / fig.get_figheight()))
        return svg.inline(fig, prefix)


def _received(ax, s: Stream, t0: float, prefix: str, labels: bool) -> None:
    ids = {id(d): suffix for suffix, d in s.events() if int(suffix.rsplit("-", 1)[1]) < MAX_MARKS}
    if len(s.received) > MAX_POINTS:  # a flood: one line through every k-th datagram
        shown = _thin(s.received)
        ax.plot([d.t - t0 for d in shown], [d.seq for d in shown], color=STATUS_COLORS[IN_ORDER], lw=1,
                zorder=3)
    else:
        xs = [d.t - t0 for d in s.received]
        ax.vlines(xs, [d.seq for d in s.received], [d.seq + d.count for d in s.received],
                  colors=[STATUS_COLORS.get(d.status, "#777777") for d in s.received], lw=2, zorder=3)
        ax.scatter(xs, [d.seq for d in s.received], s=14, zorder=4,
                   c=[STATUS_COLORS.get(d.status, "#777777") for d in s.received])
    rest = _thin([d for d in s.received if d.status in MARKED and id(d) not in ids])
    if rest:  # marks past the first MAX_MARKS of a kind: drawn, without ids
        ax.scatter([d.t - t0 for d in rest], [d.seq for d in rest], s=30, facecolors="none", lw=1, zorder=5,
                   edgecolors=[STATUS_COLORS[d.status] for d in rest])
    for d in s.received:
        suffix = ids.get(id(d))
        if suffix is None:
            continue
        x = d.t - t0
        if d.status == GAP:
            gap = ax.vlines([x], [d.seq - d.missing], [d.seq], colors=STATUS_COLORS[GAP], lw=7, alpha=0.35,
                            zorder=2)
            text = f"gap: {count(d.missing, 'record')} missing"
        else:
            gap = ax.scatter([x], [d.seq], s=90, facecolors="none", edgecolors=STATUS_COLORS[d.status],
                             lw=1.5, zorder=5)
            text = d.status
        gap.set_gid(f"{prefix}{s.id}-{suffix}")
        if labels:
            ax.annotate(text, (x, d.seq), xytext=(6, -10), textcoords="offset points", fontsize=7,
                        color=STATUS_COLORS[d.status])


def _sent(ax, s: Stream, t0: float, prefix: str, labels: bool) -> None:
    if not s.sent:
        return
    ok = _thin([d for d in s.sent if d.arrived])
    ax.scatter([d.t - t0 for d in ok], [d.seq for d in ok], s=42, facecolors="none",
               edgecolors="#9e9e9e", lw=0.8, zorder=2)
    lost = [d for d in s.sent if not d.arrived]
    rest = _thin(lost[MAX_MARKS:])
    if rest:
        ax.scatter([d.t - t0 for d in rest], [d.seq for d in rest], marker="X", s=30, color=STATUS_COLORS[GAP],
                   zorder=5)
    for k, d in enumerate(lost[:MAX_MARKS]):
        mark = ax.scatter([d.t - t0], [d.seq], marker="X", s=50, color=STATUS_COLORS[GAP], zorder=5)
        mark.set_gid(f"{prefix}{s.id}-lost-{k}")
        if labels:
            ax.annotate(f"sent, never received ({count(d.count, 'record')})", (d.t - t0, d.seq),
                        xytext=(6, 4), textcoords="offset points", fontsize=7, color=STATUS_COLORS[GAP])


def _impairments(ax, s: Stream, t0: float) -> None:
    for action, (marker, color) in ACTION_STYLE.items():
        mine = _thin([i for i in s.impairments if i.action == action])
        if mine:
            ax.scatter([i.t - t0 for i in mine], [i.seq for i in mine], marker=marker, s=22, color=color,
                       zorder=3, label=action)
    ax.set_title("what the relay did to each datagram (ground truth)", fontsize=8, loc="left")
    ax.legend(fontsize=7, loc="upper left", frameon=False, ncol=5)


def _legend(s: Stream) -> list:
    shown = {d.status for d in s.received} | {IN_ORDER}
    out = [Line2D([], [], marker="o", color=STATUS_COLORS[st], lw=2, ms=4,
                  label=f"datagram: {st}" if st not in (FIRST, IN_ORDER) else "datagram (records it carried)")
           for st in (IN_ORDER, GAP, DUPLICATE, REORDERED, RESET) if st in shown]
    if s.sent:
        out.append(Line2D([], [], marker="o", color="#9e9e9e", mfc="none", lw=0, ms=6, label="sent by the probe"))
    if any(not d.arrived for d in s.sent):
        out.append(Line2D([], [], marker="X", color=STATUS_COLORS[GAP], lw=0, ms=6,
                          label="sent, never received"))
    return out
