from pathlib import Path

import pytest

from .nslab import Lab, need_root

ROOT_FIXTURES = {"lab", "rlab", "rt"}


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:  # the `root` marker of pyproject.toml, on tests that build namespaces
        if here in item.path.parents and ROOT_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.root)


@pytest.fixture
def lab():
    need_root()
    with Lab() as lab:
        yield lab


@pytest.fixture(scope="session")
def rlab():
    """The router lab, built once for every end-to-end test (and deleted after)."""
    from .router import RouterLab

    need_root()
    with Lab() as lab:
        rl = RouterLab(lab)
        try:
            yield rl
        finally:
            rl.close()


@pytest.fixture
def collector(rlab):
    from .router import Collector

    c = Collector(rlab)
    yield c
    c.close()


@pytest.fixture
def start_probe(rlab):
    """start_probe(collectors, *options) -> a running ProbeProcess (stopped after the test)."""
    from .router import ProbeProcess

    procs = []

    def start(collectors, *args):
        p = ProbeProcess(rlab, collectors, *args)
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.close()
