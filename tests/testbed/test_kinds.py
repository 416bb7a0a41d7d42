"""Kinds: one module per step or check kind, read once with its defaults."""
import importlib
import pkgutil
from dataclasses import dataclass

import pytest

from testbed.expect import checks as check_pkg
from testbed.expect.checks import CHECKS
from testbed.schema.errors import Problems
from testbed.schema.fields import Reader
from testbed.schema.kinds import Entry, Kinds, plain, spec
from testbed.schema.yamltree import tree
from testbed.topology import loads
from testbed.traffic import steps as step_pkg
from testbed.traffic.steps import STEPS


@pytest.mark.parametrize("pkg,registry", [(step_pkg, STEPS), (check_pkg, CHECKS)],
                         ids=["steps", "checks"])
def test_each_module_is_one_kind_named_after_it(pkg, registry):
    modules = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__))
    assert modules == sorted(registry.kinds)
    for name in modules:
        module = importlib.import_module(f"{pkg.__name__}.{name}")
        mine = [c for c in vars(module).values() if isinstance(c, type)
                and c.__module__ == module.__name__ and registry.kinds.get(getattr(c, "kind", "")) is c]
        assert [c.kind for c in mine] == [name]


def test_a_new_kind_is_one_class():
    kinds = Kinds("thing", "kind:")

    @kinds.add
    @dataclass(frozen=True, kw_only=True)
    class Beep(Entry):
        kind = "beep"
        times: int = spec(plain(lambda r, y: r.integer(y, 1, 9, "a count")))
        pitch: str = spec(plain(lambda r, y: r.choice(y, ("high", "low"), "pitch")), "high")
        of: str | None = spec(plain(lambda r, y: r.text(y)), None, key="from")

    problems = Problems("t.yaml")
    r = Reader(problems)
    got = kinds.read(r, None, 3, tree({"kind": "beep", "times": 2, "from": "me"}, "x", 7))
    assert got == Beep(index=3, line=7, times=2, pitch="high", of="me") and not problems
    assert got.explain() == "beep: times=2 pitch=high from=me"
    assert kinds.read(r, None, 0, tree({"kind": "beep", "pitch": "mid", "timez": 1}, "y")) is None
    assert [p.message for p in problems.sorted()] == [
        "unknown field 'timez' (did you mean 'times'?)", "missing field 'times' (beep thing)",
        "unknown pitch 'mid' (one of: high, low)"]
    with pytest.raises(ValueError):
        kinds.add(Beep)  # a kind is registered once


LAB = """
name: k
nodes: {h1: {kind: host}, h2: {kind: host}, r1: {kind: router}}
links: [{endpoints: [h1:eth0, r1:eth0], subnet: 10.0.1.0/24},
        {endpoints: [r1:eth1, h2:eth0], subnet: 10.0.2.0/24}]
probes: {p1: {node: r1, interfaces: [eth0, eth1], collectors: ["10.0.2.2:2055"]}}
traffic:
  - {kind: udp, name: u, from: h1, to: h2, rate: 50}
  - {kind: fragments, from: h1, to: h2}
expect:
  - {name: c, kind: conservation}
  - {name: s, kind: active_split, match: {proto: udp}}
"""


def test_defaults_are_applied_when_read():
    t = loads(LAB)
    udp, frag = t.traffic
    assert (udp.packets, udp.size, udp.rate, udp.gap) == (10, 100, 50.0, 0.02)
    assert (frag.size, frag.fragsize, frag.proto, frag.first_fragment_payload) == (3000, 1000, "udp", None)
    conservation, split = t.expect
    assert conservation.probe == "p1" and conservation.selects.text == "any flow"
    assert split.records == (2, None) and split.match.proto == 17
