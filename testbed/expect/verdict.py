"""The outcome of one check, written for the operator who reads the report."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Verdict:
    name: str
    kind: str
    passed: bool
    observed: str = ""  # one line: what the check saw when it passed
    problems: tuple[str, ...] = field(default_factory=tuple)  # "field: expected X, got Y"
    hint: str = ""  # the operator-facing message of the check, shown on failure

    @property
    def status(self) -> str:
        return "PASS" if self.passed else "FAIL"
