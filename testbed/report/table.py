"""The terminal report: one line per check, and for a failure what differed."""
from __future__ import annotations


def render(result, color: bool = False) -> str:
    green, red, dim, off = ("\033[32m", "\033[31m", "\033[2m", "\033[0m") if color else ("",) * 4
    width = max((len(v.name) for v in result.verdicts), default=10)
    lines = [f"{'':4}  {'check':<{width}}  observed"]
    for v in result.verdicts:
        mark = f"{green}PASS{off}" if v.passed else f"{red}FAIL{off}"
        lines.append(f"{mark}  {v.name:<{width}}  {dim}{v.observed}{off}")
        if not v.passed:
            for p in v.problems:
                lines.append(f"{'':6}{' ' * width}  - {p}")
            if v.hint:
                lines.append(f"{'':6}{' ' * width}  > {v.hint.strip()}")
    failed = sum(not v.passed for v in result.verdicts)
    total = len(result.verdicts)
    verdict = f"{red}FAILED{off}" if failed or not total else f"{green}PASSED{off}"
    lines.append(f"{verdict}: {total - failed}/{total} checks passed in {result.seconds:.1f} s "
                 f"(lab {result.lab})")
    phases = getattr(result, "phases", None)
    if phases:
        lines.append(f"{dim}phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()) + off)
    return "\n".join(lines)
