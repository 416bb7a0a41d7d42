"""The terminal report: one line per check, and for a failure what differed.
Every text from a verdict is made printable (no control character reaches the terminal)."""
from __future__ import annotations

from ..schema.printable import printable


def render(result, color: bool = False) -> str:
    green, red, dim, off = ("\033[32m", "\033[31m", "\033[2m", "\033[0m") if color else ("",) * 4
    width = max((len(printable(v.name)) for v in result.verdicts), default=10)
    lines = [f"{'':4}  {'check':<{width}}  observed"]
    for v in result.verdicts:
        na = getattr(v, "na", "")
        mark = f"{dim}n/a {off}" if na else f"{green}PASS{off}" if v.passed else f"{red}FAIL{off}"
        lines.append(f"{mark}  {printable(v.name):<{width}}  {dim}{printable(na or v.observed)}{off}")
        if not v.passed:
            for p in v.problems:
                lines.append(f"{'':6}{' ' * width}  - {printable(p)}")
            if v.hint:
                lines.append(f"{'':6}{' ' * width}  > {printable(v.hint.strip())}")
            if v.cause:
                lines.append(f"{'':6}{' ' * width}  > likely cause: {printable(v.cause)}")
    lines += nfcapd_lines(result)
    failed = sum(not v.passed for v in result.verdicts)
    na = sum(bool(getattr(v, "na", "")) for v in result.verdicts)
    total = len(result.verdicts)
    verdict = f"{red}FAILED{off}" if failed or not total else f"{green}PASSED{off}"
    lines.append(f"{verdict}: {total - failed - na}/{total - na} checks passed"
                 + (f" ({na} n/a)" if na else "") + f" in {result.seconds:.1f} s (lab {printable(result.lab)})")
    phases = getattr(result, "phases", None)
    if phases:
        lines.append(f"{dim}phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()) + off)
    return "\n".join(lines)


def nfcapd_lines(result) -> list[str]:
    """nfcapd's totals and sequence failures next to the referee's (`kind: nfcapd` collectors)."""
    out = []
    for name, n in getattr(result, "nfcapd", {}).items():
        t = n.totals
        out.append(f"nfcapd {name}: {t.flows} flows, {t.packets} packets, {t.bytes} bytes, "
                   f"{t.sequence_failures} sequence failures")
    for name, c in result.collectors.items() if getattr(result, "nfcapd", None) else ():
        reports = c.sequence
        out.append(f"referee {name}: {len(c.records)} records, {sum(r.packets for r in c.records)} packets, "
                   f"{sum(r.octets for r in c.records)} octets, {sum(e.nfcapd_failures for e in reports)} "
                   f"sequence failures as nfcapd counts them ({sum(e.records_lost for e in reports)} records lost)")
    return out
