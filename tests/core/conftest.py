"""`engine`: every core test that takes it runs on the reference and the fast engine."""
import pytest
from helpers import ENGINES


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param
