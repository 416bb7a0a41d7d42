"""Both engines (and the quirky reference) are a `FlowEngine`: the calls the
drivers make, with the same parameters."""
from __future__ import annotations

import inspect

import pytest
from helpers import make_probe

from probe import quirks as Q
from probe.engine import Probe
from probe.engine_api import Config, FlowEngine
from probe.fast.engine import FastProbe
from probe.r135400 import QuirkyProbe

CALLS = [name for name, value in vars(FlowEngine).items()
         if callable(value) and not name.startswith("_")]


@pytest.mark.parametrize("cls", [Probe, QuirkyProbe, FastProbe])
def test_every_engine_has_the_protocols_calls_with_its_parameters(cls):
    assert len(CALLS) == 9  # handle_frame, handle_packet, ... (the Protocol's own)
    probe = cls(Config())
    for name in CALLS:
        want = list(inspect.signature(getattr(FlowEngine, name)).parameters)[1:]  # no self
        got = getattr(probe, name, None)  # FastProbe's hot calls are the compiled ones
        assert got is not None, f"{cls.__name__} has no {name}"
        assert list(inspect.signature(got).parameters) == want, (cls.__name__, name)


def test_instances_satisfy_the_protocol(engine):
    p = make_probe(engine)
    assert isinstance(p, FlowEngine)
    assert p.timeouts() == (p.config.active_ms, p.config.inactive_ms)
    p.set_timeouts(active_ms=5000)
    assert p.timeouts() == (5000, p.config.inactive_ms)


def test_quirks_only_on_the_quirky_reference():
    config = Config(quirks=frozenset({Q.UPTIME_SECONDS}))
    with pytest.raises(ValueError, match="QuirkyProbe"):
        Probe(config)
    with pytest.raises(ValueError, match="no quirks"):
        FastProbe(config)
    assert isinstance(QuirkyProbe(config), Probe)
