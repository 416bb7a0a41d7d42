"""A matplotlib figure as SVG to put inline in the HTML report.

Text stays text (`svg.fonttype: none`: small, searchable, drawn in the
browser's sans-serif); artists given a gid keep it as their element id, so a
link or a test can find a lane or a gap. Every other id - those matplotlib
makes up for groups (figure_1, line2d_7), clip paths and markers - gets
the figure's `salt` in front, so no two figures of a page share an id.
No pyplot: figures are plain objects, no global state, no GUI backend.
"""
from __future__ import annotations

import io
import re

from matplotlib import rc_context, rcParams
from matplotlib.figure import Figure

STYLE = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "text.hinting": "no_hinting",  # measure text as a browser draws it (unhinted)
}
PROLOG = re.compile(r"^.*?(?=<svg)", re.S)  # the XML declaration and DOCTYPE
IDREF = re.compile(r'(\sid="|url\(#|href="#)([^")]+)')  # an id, and where one is referred to


def style(salt: str):
    """Draw a figure inside `with style(salt):` (rcParams apply as artists are made)."""
    return rc_context({**STYLE, "svg.hashsalt": salt})


def inline(fig: Figure, own: str) -> str:
    """The figure as an <svg> element (no XML prolog); call it inside style(). Ids that
    do not start with `own` (the gids given) are matplotlib's: they get the salt."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    salt = rcParams["svg.hashsalt"]

    def unique(m: re.Match) -> str:
        name = m.group(2)
        return m.group(0) if name.startswith(own) else f"{m.group(1)}{salt}-{name}"
    return IDREF.sub(unique, PROLOG.sub("", buf.getvalue(), count=1))


def figure(width_in: float, height_in: float) -> Figure:
    return Figure(figsize=(width_in, height_in))
