"""Text that may reach a terminal, a JUnit XML file or the HTML report.

Check names, messages and what a verdict observed can carry control
characters: from a lab file (YAML's "\\e]0;title\\a" escapes) or from an
exporter's own output in a failure. Raw, an ESC or OSC sequence rewrites the
operator's terminal (a title, colours that hide a FAIL, a carriage return over
a line) and NUL or BEL make JUnit XML ill-formed. `printable()` shows each as
\\xNN (\\uNNNN past 0xFF) at every output edge; the lab file reader refuses
them where the file is the source (`UNSAFE.search`). Newline and tab stay.
"""
from __future__ import annotations

import re

# C0 but tab and newline (CR too: it overwrites a line), DEL, C1 (0x9b is a one-byte CSI),
# and what XML 1.0 cannot hold (lone surrogates, U+FFFE, U+FFFF)
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _shown(m: re.Match) -> str:
    n = ord(m.group())
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def printable(text) -> str:
    return UNSAFE.sub(_shown, str(text))
