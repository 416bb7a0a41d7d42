"""`kind: control` - a control-socket command to a running probe (`stats`, `show`,
`flush`, `timeouts ACTIVE INACTIVE`), as the operator types it."""
from __future__ import annotations

from dataclasses import dataclass

from ...exporters import KINDS, Feature
from ...schema.fields import TIMEOUT_MAX_S, TIMEOUT_MIN_S
from ...schema.kinds import plain, spec
from ..step import STEPS, Env, LabState, Step, StepResult, done, probe as _probe


def probe(r, known, y, got) -> str | None:
    """A probe whose exporter kind answers on a control socket."""
    name = _probe(r, known, y, got)
    if name is not None and Feature.CONTROL not in known.probes[name].exporter.features:
        controls = ", ".join(k.name for k in KINDS.values() if Feature.CONTROL in k.features)
        r.error(y, f"probe {name} is {known.probes[name].kind}: only {controls} answers on a control socket")
        return None
    return name


def _words(r, y) -> tuple[str, ...] | None:
    """`"timeouts 5 30"` or `[timeouts, 5, 30]` -> ("timeouts", "5", "30")."""
    if isinstance(y.value, str) and y.value.split():
        return tuple(y.value.split())
    if y.is_seq and y.value and all(i.is_scalar and i.value is not None for i in y):
        return tuple(str(i.value) for i in y)
    r.error(y, f"expected a command like 'timeouts 5 30', got {y.plain()!r}")
    return None


def _command(r, y) -> tuple[str, ...] | None:
    """A command the probe takes, with values it accepts (a run would fail there otherwise)."""
    words = _words(r, y)
    problem = words and command_problem(words)
    if problem:
        r.error(y, problem)
        return None
    return words


def command_problem(words: tuple[str, ...]) -> str | None:
    cmd, args = words[0], words[1:]
    if cmd not in ("stats", "show", "flush", "timeouts"):
        return f"unknown control command {cmd!r} (stats, show, flush, timeouts ACTIVE INACTIVE)"
    if cmd != "timeouts":
        return f"{cmd} takes nothing more, got {' '.join(args)!r}" if args else None
    if not 1 <= len(args) <= 2 or set(args) == {"-"}:
        return "expected timeouts ACTIVE [INACTIVE] in seconds, '-' keeping one: 'timeouts 60 5', 'timeouts - 5'"
    for which, word in zip(("active", "inactive"), args):
        try:
            value = None if word == "-" else float(word)
        except ValueError:
            return f"timeouts: {which} {word!r} is not a number of seconds"
        if value is not None and not TIMEOUT_MIN_S <= value <= TIMEOUT_MAX_S:  # nan too
            return f"timeouts: {which} must be {TIMEOUT_MIN_S:g}..{TIMEOUT_MAX_S} seconds, got {word}"
    return None


@STEPS.add
@dataclass(frozen=True, kw_only=True)
class Control(Step):
    kind = "control"
    probe: str = spec(probe)
    command: tuple[str, ...] = spec(plain(_command))

    def check_order(self, state: LabState) -> str | None:
        if not state.probes.get(self.probe, True):
            return f"probe {self.probe} is stopped here: nothing answers on its control socket"
        return None

    def run(self, env: Env) -> StepResult:
        reply = env.probe(self.probe).ctl(list(self.command))
        return done(f"ctl {' '.join(self.command)}: " + _short(reply))


def _short(reply: dict) -> str:
    if "stats" in reply:
        s = reply["stats"]
        return f"{s.get('packets')} packets, {s.get('active_flows')} active flows"
    if "flows" in reply:
        return f"{reply.get('total')} flows in the cache"
    return ", ".join(f"{k}={v}" for k, v in reply.items())[:120]
