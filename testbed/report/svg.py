"""A matplotlib figure as SVG to put inline in the HTML report.

Text stays text (`svg.fonttype: none`: small, searchable, drawn in the
browser's sans-serif); artists given a gid keep it as their element id, so a
link or a test can find a lane or a gap. `salt` keeps the ids matplotlib
makes up (clip paths, markers) apart between the figures of one page.
No pyplot: figures are plain objects, no global state, no GUI backend.
"""
from __future__ import annotations

import io
import re

from matplotlib import rc_context
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


def style(salt: str):
    """Draw a figure inside `with style(salt):` (rcParams apply as artists are made)."""
    return rc_context({**STYLE, "svg.hashsalt": salt})


def inline(fig: Figure) -> str:
    """The figure as an <svg> element (no XML prolog); call it inside style()."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return PROLOG.sub("", buf.getvalue(), count=1)


def figure(width_in: float, height_in: float) -> Figure:
    return Figure(figsize=(width_in, height_in))
