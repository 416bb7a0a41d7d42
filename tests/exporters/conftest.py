import pytest

from live.nslab import Lab, need_root


@pytest.fixture(scope="module")
def rl():
    """The routed lab, built once per test module (and deleted after)."""
    from exporters.routedlab import RoutedLab

    need_root()
    with Lab() as lab:
        yield RoutedLab(lab)
