"""What the running kernel can do for a lab, from its own configuration (/proc/config.gz),
read without root: validate refuses what the kernel lacks, with that reason."""
from __future__ import annotations

import gzip
from functools import lru_cache

CONFIG = "/proc/config.gz"


@lru_cache(maxsize=None)
def options() -> dict[str, str] | None:
    """CONFIG_X -> its value ("y", "m", ...; "n" when "is not set"); None: the kernel does not say."""
    try:
        with gzip.open(CONFIG, "rt") as f:
            text = f.read()
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        if line.startswith("# CONFIG_") and line.endswith(" is not set"):
            out[line[2:-len(" is not set")]] = "n"
        elif line.startswith("CONFIG_") and "=" in line:
            key, _, value = line.partition("=")
            out[key] = value
    return out


def netem() -> bool | None:
    """Has the kernel sch_netem (built in or a module)? None: it does not say."""
    opts = options()
    return None if opts is None else opts.get("CONFIG_NET_SCH_NETEM", "n") != "n"
