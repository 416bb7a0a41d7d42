"""The outcome of one check, written for the operator who reads the report."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    """A verdict's outcome, as reports print it (a str: "PASS" == Status.PASS)."""

    PASS = "PASS"
    FAIL = "FAIL"
    NA = "n/a"


@dataclass(frozen=True)
class Verdict:
    name: str
    kind: str
    passed: bool
    observed: str = ""  # one line: what the check saw when it passed
    problems: tuple[str, ...] = field(default_factory=tuple)  # "field: expected X, got Y"
    hint: str = ""  # the operator-facing message of the check, shown on failure
    # why the check does not apply to the exporter under test ("" : it applies). An n/a
    # verdict has passed=True (nothing failed): read `status` to tell it from a PASS.
    na: str = ""
    # a failure's likely cause: a limit of the exporter, as its kind states it (exporters
    # LIMITS / Claims.causes); "" none known. Cells of `compare` that share one say it once.
    cause: str = ""

    @property
    def status(self) -> Status:
        return Status.NA if self.na else Status.PASS if self.passed else Status.FAIL


NA = Status.NA


def not_applicable(name: str, kind: str, reason: str, hint: str = "") -> Verdict:
    return Verdict(name, kind, True, "", (), hint, na=reason)
