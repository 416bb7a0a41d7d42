"""What every traffic step kind is: a frozen dataclass that knows how to run itself.

A kind lives in one module of `traffic/steps/` (its fields with defaults and
readers, and its `run`); `STEPS` is the registry the lab file reader uses.
`run(env)` gets what a step may touch while the lab is up (`Env`) and returns
a `StepResult`: the progress line, when it ended and, for traffic whose
packets are known, the ground truth per flow.
"""
from __future__ import annotations

import time
from collections import Counter
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..schema.fields import Reader
from ..schema.kinds import Entry, Kinds, choice, plain
from ..schema.yamltree import Y

STEPS = Kinds("step", "kind:")


class Env(Protocol):
    """What a running step may use (the run's Session provides it)."""

    lab: Any  # testbed.lab.Lab: nodes, topology, link_down/up, route
    workdir: Path

    def probe(self, name: str) -> Any: ...  # a probe: start/stop/kill/ctl

    def collector(self, name: str) -> Any: ...  # a reference collector: start/stop_run/kill

    def taps_of(self, probe: str) -> list: ...  # the probe's export taps (set_policy)

    def restarted(self, name: str) -> None: ...  # count a (re)start the checks must expect

    def routes_settle(self, nodes: set[str]) -> AbstractContextManager: ...


@dataclass
class StepResult:
    summary: str  # the progress line's text
    ended: float  # unix time the step ended
    truth: dict = field(default_factory=dict)  # FlowId -> FlowTruth
    report: dict = field(default_factory=dict)  # what else it measured, as plain data


def done(summary: str) -> StepResult:
    return StepResult(summary, time.time())


@dataclass
class LabState:
    """What runs at a point of the traffic, for checking step order when the file is read
    (and counting how often the traffic starts each probe and collector again)."""

    probes: dict[str, bool] = field(default_factory=dict)  # name -> running
    collectors: dict[str, bool] = field(default_factory=dict)
    restarts: Counter = field(default_factory=Counter)  # (what, name) -> starts after the first


def lifecycle(state: LabState, what: str, name: str, action: str) -> str | None:
    """stop | start | restart | kill of something that runs (`what`: probe or collector):
    why it cannot happen here, or None after noting the new state."""
    running = state.probes if what == "probe" else state.collectors
    up = running.get(name, True)  # everything runs when the traffic starts
    if action == "start" and up:
        return f"{what} {name} is already running here"
    if action != "start" and not up:
        return f"{what} {name} is stopped here (start it first)"
    running[name] = action in ("start", "restart")
    if running[name]:
        state.restarts[what, name] += 1
    return None


@dataclass(frozen=True, kw_only=True)
class Step(Entry):
    def run(self, env: Env) -> StepResult:
        raise NotImplementedError

    def check_order(self, state: LabState) -> str | None:
        """Why this step cannot run in `state` (None: it can); updates `state`."""
        return None

    def taps(self, topo) -> set[tuple[str, str]]:
        """(probe, collector) export paths this step needs a tap on (faults)."""
        return set()


# -- readers shared by step kinds (see schema.kinds: read(r, known, y, got)) --

def node(r: Reader, known, y: Y, got: dict) -> str | None:
    n = known.node(r, y)
    return n and n.name


def host_or_address(r: Reader, known, y: Y, got: dict) -> str | None:
    return known.host_or_address(r, y)


def interface(r: Reader, known, y: Y, got: dict) -> str | None:
    i = known.interface(r, y)
    return i and i.ref


def probe(r: Reader, known, y: Y, got: dict) -> str | None:
    p = known.probe(r, y)
    return p and p.name


def _count(what: str, hi: int = 10_000_000):
    return plain(lambda r, y: r.integer(y, 1, hi, what))


PACKETS = _count("a packet count")
COUNT = _count("a count")
SPORT = plain(lambda r, y: r.port(y))
DPORT = plain(lambda r, y: r.port(y, 1))
SIZE = plain(lambda r, y: r.integer(y, 0, 65507, "a payload size in bytes"))
MAX_SECONDS = 7 * 86400.0  # no step of a lab waits or lasts longer than a week
SECONDS = plain(lambda r, y: r.number(y, hi=MAX_SECONDS))
POSITIVE_SECONDS = plain(lambda r, y: r.number(y, positive=True, hi=MAX_SECONDS))
RATE = plain(lambda r, y: r.number(y, positive=True, what="packets per second", hi=10_000_000))
TOS = plain(lambda r, y: r.integer(y, 0, 255, "a TOS byte"))
TTL = plain(lambda r, y: r.integer(y, 1, 255, "a TTL"))
BOOLEAN = plain(lambda r, y: r.boolean(y))


def one_of(r: Reader, y: Y, values: dict, first: str, second: str) -> bool:
    """For a kind's `finish`: False (after saying so) when both fields were given."""
    if first in values and second in values:
        r.error(y.get(second), f"give either {first}: or {second}:, not both", at_key=True)
        return False
    return True
