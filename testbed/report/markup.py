"""Small HTML building blocks for the report: every text is escaped here."""
from __future__ import annotations

import time
from html import escape

from ..schema.printable import printable


def esc(value) -> str:
    """Text as HTML: markup escaped, control characters shown as \\xNN."""
    return escape(printable(value), quote=True)


def attrs(**kw) -> str:
    """` id="x" class="y"` from keywords (class_ -> class); None values left out."""
    return "".join(f' {k.rstrip("_").replace("_", "-")}="{esc(v)}"' for k, v in kw.items() if v is not None)


def table(head: list[str], rows: list[list], **kw) -> str:
    """A table; cells are text (escaped) unless given as Raw."""
    out = [f"<table{attrs(**kw)}><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


class Raw(str):
    """Markup already built (not escaped again)."""


def cell(value) -> str:
    return value if isinstance(value, Raw) else esc(value)


def clock(t: float) -> str:
    """Unix seconds as local HH:MM:SS.mmm."""
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t % 1 * 1000):03d}"


def count(n: int, what: str) -> str:
    """`1 record`, `3 records`."""
    return f"{n} {what}{'' if n == 1 else 's'}"
