"""The ready labs (topologies/) wherever the package is: beside the code in a checkout,
in <prefix>/share/netflow-lab/ once installed with pip (pyproject.toml data-files), so
`python -m testbed labs conformance` works from any directory."""
from __future__ import annotations

import sys
from pathlib import Path

SHARE = Path("share") / "netflow-lab"


def home() -> Path | None:
    """The folder that holds topologies/ and samples/ (None: neither place has it)."""
    for base in (Path(__file__).resolve().parents[2], Path(sys.prefix) / SHARE):
        if (base / "topologies" / "quickstart.yaml").is_file():
            return base
    return None


def labs(under: str = "") -> list[Path]:
    """The lab files of topologies/UNDER (a folder: conformance, faults, field-bugs; or a
    lab's name), sorted; [] when there is none."""
    base = home()
    if base is None:
        return []
    root = base / "topologies"
    target = root / under
    if target.is_dir():
        return sorted(target.glob("*.yaml"))
    name = target.with_suffix(".yaml") if target.suffix != ".yaml" else target
    return [name] if name.is_file() else []
