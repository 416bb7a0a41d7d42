"""Shared inputs for the offline tests: one small generated capture per session."""
from __future__ import annotations

import pytest

from probe.bench import gen


@pytest.fixture(scope="session")
def small_capture(tmp_path_factory):
    """(path, truth) of a 50k-packet / 5k-flow capture."""
    path = tmp_path_factory.mktemp("capture") / "small.pcap"
    truth = gen.write(str(path), packets=50_000, flows=5_000, seed=7)
    return str(path), truth
