"""Problems found in a lab file, each pinned to `file:line: yaml.path: message`."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    path: str  # e.g. "links[2]" or "nodes.r1.interfaces.eth0.mtu"; "" for the whole file
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}: {where}{self.message}"


class TopologyError(Exception):
    """Raised by `load` with every problem found (not just the first)."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class Problems:
    """Collects problems while a file is checked; sorted by line at the end."""

    def __init__(self, file: str):
        self.file = file
        self._items: list[Problem] = []

    def add(self, line: int, path: str, message: str) -> None:
        self._items.append(Problem(self.file, line, one_line(path), cut(one_line(message))))

    def __bool__(self) -> bool:
        return bool(self._items)

    def sorted(self) -> list[Problem]:
        return sorted(self._items, key=lambda p: p.line)  # stable: same line keeps order


MAX_MESSAGE = 300
_ESCAPES = str.maketrans({"\n": "\\n", "\r": "\\r", "\x85": "\\x85", "\u2028": "\\u2028",
                          "\u2029": "\\u2029"})


def one_line(text: str) -> str:
    """A key or value quoted in an error may hold line breaks: written escaped."""
    return text.translate(_ESCAPES)



def cut(message: str) -> str:
    """An error line stays readable when it quotes a huge value."""
    if len(message) <= MAX_MESSAGE:
        return message
    return f"{message[:200]}...({len(message) - 280} characters cut)...{message[-80:]}"
