"""Draw the flow timeline (lanes.py) as SVG with matplotlib.

Per lane: a tick at each packet's send time, each exported record as a bar
from its first to its last packet, a triangle where the collector received
it, labelled with the probe's expiry reason; a timed check's expected export
window shaded (red edge if the check failed); a failed check's lane on a red
band. Element ids: `lane-N` (the lane's band), `lane-N-failed`,
`lane-N-window-CHECK`, `lane-N-record-K` and `lane-N-export-K` (or
`lane-N-lost-K`: sent, never received), each prefixed with the lab's.

A lane of a flood is drawn as density, not mark by mark (a v5 flood made a
54 MB timeline): past MAX_TICKS packets, how many were sent per slice of
the axis; past MAX_BARS records, how many were received per slice (those
sent and never received still crossed, the first MAX_BARS). `summarised()`
says which lanes, for the page.
"""
from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from . import svg
from .lanes import Timeline
from .markup import clock

REASON_COLORS = {
    "tcp_fin_rst": "#1b9e77", "inactive": "#377eb8", "active": "#7570b3", "counter_overflow": "#e6ab02",
    "evicted": "#d95f02", "flush": "#888888", "shutdown": "#666666",
}
UNKNOWN = "#9ecae1"
TICK, FAILED, WINDOW, RED = "#08306b", "#fde0dd", "#74c476", "#cb181d"
WIDTH_IN = 11.0
LANE_IN = 0.44
HEAD_IN, FOOT_IN = 0.7, 0.55  # legend and step names; the time axis
MAX_TICKS = 400  # packets of a lane drawn one by one
MAX_BARS = 60  # records of a lane drawn one by one
SLICES = 200  # of the axis, for a density


def summarised(tl: Timeline) -> list[str]:
    """The lanes drawn as density, in words."""
    many = [lane for lane in tl.lanes if len(lane.sent) > MAX_TICKS or len(lane.bars) > MAX_BARS]
    return [f"{lane.flow}: {len(lane.sent)} packets, {len(lane.bars)} records, drawn as how many per "
            f"1/{SLICES} of the axis" for lane in many]


def draw(tl: Timeline, prefix: str = "", window: tuple[float, float] | None = None) -> str:
    """The timeline as <svg>, over `window` (unix seconds; default: its own first
    and last event), drawn as seconds since the window's start."""
    lanes = tl.lanes
    times = [t for l in lanes for t in l.sent] + [b.recv for l in lanes for b in l.bars]
    times += [w.hi for l in lanes for w in l.windows]
    if not times:
        return ""
    t0, t_end = window or (min(times), max(times))
    lo, hi = x_range(t0, t_end)
    span = hi - lo
    with svg.style(prefix + "timeline"):
        fig = svg.figure(WIDTH_IN, HEAD_IN + FOOT_IN + LANE_IN * len(lanes))
        ax = fig.add_subplot()
        several = len({b.probe for l in lanes for b in l.bars}) > 1  # then bars say whose they are
        for y, lane in enumerate(lanes):
            _lane(ax, y, lane, t0, (lo, hi), prefix, several)
        _steps(ax, tl.steps, t0, t_end, span)
        ax.set_xlim(lo, hi)
        ax.set_ylim(len(lanes) - 0.5, -0.5)
        ax.set_yticks(range(len(lanes)), [str(l.flow) for l in lanes], fontsize=7.5)
        for tick, lane in zip(ax.get_yticklabels(), lanes):
            if lane.failed:
                tick.set_color(RED)
                tick.set_fontweight("bold")
            elif not lane.crafted:
                tick.set_color("#777777")
        ax.set_xlabel(f"seconds since {clock(t0)}")
        ax.grid(axis="x", color="#e5e5e5", lw=0.5)
        ax.set_axisbelow(True)
        fig.legend(handles=_legend(lanes), loc="upper center", ncol=9, fontsize=7, frameon=False,
                   bbox_to_anchor=(0.5, 1.0))
        fig.tight_layout(rect=(0, 0, 1, 1 - HEAD_IN / fig.get_figheight()))
        return svg.inline(fig, prefix)


def _lane(ax, y: int, lane, t0: float, axis: tuple[float, float], prefix: str, several: bool) -> None:
    span = axis[1] - axis[0]
    band = ax.axhspan(y - 0.5, y + 0.5, color=FAILED if lane.failed else ("#f4f4f4" if y % 2 else "#ffffff"),
                      zorder=0, lw=0)
    band.set_gid(prefix + lane.id + ("-failed" if lane.failed else ""))
    if lane.failed:  # the plain id too: links point at it
        ax.axhspan(y - 0.5, y + 0.5, fill=False, lw=0, zorder=0).set_gid(prefix + lane.id)
    for w in lane.windows:
        r = Rectangle((w.lo - t0, y - 0.46), w.hi - w.lo, 0.92, facecolor=WINDOW, alpha=0.3,
                      edgecolor=RED if w.failed else "none", lw=1.2, zorder=1)
        r.set_gid(f"{prefix}{lane.id}-window-{w.check}")
        ax.add_patch(r)
    if len(lane.sent) > MAX_TICKS:
        _density(ax, [t - t0 for t in lane.sent], y - 0.1, 0.34, axis, TICK)
    elif lane.sent:
        ax.scatter([t - t0 for t in lane.sent], [y - 0.27] * len(lane.sent), marker="|", s=40, color=TICK,
                   lw=1, zorder=3)
    bars = sorted(lane.bars, key=lambda b: (b.start, b.recv))
    if len(bars) > MAX_BARS:
        _density(ax, [b.recv - t0 for b in bars if not b.lost], y + 0.44, 0.34, axis, UNKNOWN)
        bars = [b for b in bars if b.lost][:MAX_BARS]
    for k, b in enumerate(bars):  # two rows: labels apart
        label = f"{b.reason or '?'} ({b.probe})" if several else b.reason or "?"
        _bar(ax, b, y + 0.27 * (k % 2), t0, span, f"{prefix}{lane.id}-record-{k}", label)


def _density(ax, xs: list[float], base: float, height: float, axis: tuple[float, float], color: str) -> None:
    """How many of `xs` fall in each slice of the axis, as a filled step up from `base`
    (the y axis points down: up is smaller), the busiest slice `height` tall."""
    if not xs:
        return
    counts, edges = np.histogram(xs, bins=SLICES, range=axis)
    ax.stairs(base - counts / max(counts.max(), 1) * height, edges, baseline=base, fill=True, color=color,
              lw=0, zorder=3)


def x_range(t0: float, t_end: float) -> tuple[float, float]:
    """The x axis of a chart of [t0, t_end] in seconds since t0, with room on
    the right for labels (at least a second wide)."""
    span = max(t_end - t0, 1.0)
    return -0.02 * span, t_end - t0 + 0.12 * span


def _bar(ax, b, y: float, t0: float, span: float, gid: str, label: str) -> None:
    """A record: its bar (first..last packet), a dotted wait until it left, the
    export moment (received; a cross if it never arrived) and the reason."""
    color = REASON_COLORS.get(b.reason or "", UNKNOWN)
    bar = Rectangle((b.start - t0, y - 0.06), max(b.end - b.start, span / 800), 0.12, zorder=2,
                    facecolor="none" if b.lost else color, edgecolor=color, hatch="////" if b.lost else None,
                    lw=0.8 if b.lost else 0)
    bar.set_gid(gid)
    ax.add_patch(bar)
    ax.plot([b.end - t0, b.recv - t0], [y, y], color=color, lw=0.8, ls=":", zorder=2)
    mark, = ax.plot([b.recv - t0], [y], marker="X" if b.lost else "v", ms=6 if b.lost else 5, lw=0,
                    color=RED if b.lost else "black", zorder=4)
    mark.set_gid(gid.replace("-record-", "-lost-" if b.lost else "-export-"))
    ax.annotate(label + (": sent, never received" if b.lost else ""), (b.recv - t0, y), xytext=(4, -1),
                textcoords="offset points", fontsize=7, va="center", zorder=5,
                color=RED if b.lost else "#333333")


def _steps(ax, steps: dict[str, float], t0: float, t_end: float, span: float) -> None:
    """A dashed line where each named step ended, its name above the lanes
    (staggered on up to three rows when names would overlap)."""
    last_at: list[float] = [-1e9] * 3
    for name, at in sorted(steps.items(), key=lambda kv: kv[1]):
        if not t0 - 1 <= at <= t_end + 1:
            continue
        ax.axvline(at - t0, color="#bbbbbb", lw=0.6, ls="--", zorder=0)
        row = next((i for i, x in enumerate(last_at) if at - x > span * 0.09), None)
        if row is None:
            continue  # no room: the line stays, the name goes
        last_at[row] = at
        ax.annotate(name, (at - t0, 1.0), xycoords=("data", "axes fraction"), xytext=(2, 2 + 9 * row),
                    textcoords="offset points", fontsize=6.5, color="#777777", ha="left", va="bottom",
                    in_layout=False)  # HEAD_IN keeps room for the names


def _legend(lanes) -> list:
    seen = sorted({b.reason or "" for l in lanes for b in l.bars}, key=lambda r: r or "~")
    out = [Line2D([], [], marker="|", color=TICK, lw=0, ms=8, label="packet sent"),
           Line2D([], [], marker="v", color="black", lw=0, ms=5, label="received by the collector")]
    if any(l.windows for l in lanes):
        out.append(Patch(facecolor=WINDOW, alpha=0.3, label="expected export window"))
    if any(l.failed for l in lanes):
        out.append(Patch(facecolor=FAILED, label="failed check"))
    if any(b.lost for l in lanes for b in l.bars):
        out.append(Line2D([], [], marker="X", color=RED, lw=0, ms=6, label="sent, never received"))
    out += [Patch(facecolor=REASON_COLORS.get(r, UNKNOWN), label=f"record: {r or 'reason unknown'}")
            for r in seen]
    return out
