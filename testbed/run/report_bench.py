"""The HTML report's cost on a big lab, measured:
`python -m testbed.run.report_bench --routers 200 [--runs 3] [--vs MODULE]` (root).

Runs a generated line (`testbed gen line --routers N --probes all`, as
`ci/bench-lab` does), then draws its section of the page `--runs` times and
prints the seconds (min, median, max), the bytes and how many parts said they
summarised. `--vs MODULE` draws the same run with another implementation of
`html.section` too, in turn with ours (A B A B ...): e.g. a copy of an older
testbed/report as testbed/report_before, `--vs testbed.report_before.html`.
Figures only; nothing passes or fails.
"""
from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ..report import html
from ..topology import loads
from ..topology.gen import line
from .runner import Run


def _draw(section, result) -> tuple[float, int, int]:
    t = time.perf_counter()
    page = section(result)
    return time.perf_counter() - t, len(page.encode()), page.count("Summarised:")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m testbed.run.report_bench")
    p.add_argument("--routers", type=int, default=200)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--vs", metavar="MODULE", help="another module with section(result), drawn in turn")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="netflow-lab-bench-") as work:
        path = Path(work) / f"line{args.routers}.yaml"
        path.write_text(line(args.routers, "all"))
        result = Run(loads(path.read_text(), source=str(path)), say=lambda *a, **k: None).execute()
    print(f"line of {args.routers} routers with a probe each: {len(result.verdicts)} checks, "
          f"passed {result.passed}")
    rivals = {"this": html.section}
    if args.vs:
        rivals[args.vs] = importlib.import_module(args.vs).section
    got: dict[str, list] = {name: [] for name in rivals}
    for _ in range(args.runs):
        for name, section in rivals.items():
            got[name].append(_draw(section, result))
    for name, rows in got.items():
        times = [r[0] for r in rows]
        print(f"{name}: section {min(times):.2f} / {statistics.median(times):.2f} / {max(times):.2f} s "
              f"(min / median / max of {args.runs}), {rows[-1][1] / 1e6:.2f} MB, "
              f"{rows[-1][2]} 'Summarised' notes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
