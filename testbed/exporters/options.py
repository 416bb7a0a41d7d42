"""What a lab may set on a packaged exporter beyond the fields every kind has, and
what the kind sets itself. Pure declarations; topology/probekind.py reads them.

Each kind module declares, in one place:

* `versions`: the NetFlow versions it exports (a lab's `version:` is one of them);
* `Options`: a frozen dataclass of its own typed fields (`option(...)` each: how the
  lab file writes it, what it becomes on the tool's command line or in its config);
* `flags`: how its command line is parsed (`Flags.short`: getopt's optstring, or
  argparse long options) and which of its words the kind writes itself, each with the
  typed field to use instead. An `args:` word that is one of them, or the flag of one
  of its options, is refused at its line: the tool would take the later of two (or, for
  softflowd's `-v`, the one in effect when `-n` is parsed) and the checks would judge
  the run by the lab's value, not the tool's.

    kind: softflowd, args: [-v, "9"]  ->  lab.yaml:14: probes.p1.args[0]: -v is set by the
                                          softflowd kind: write version: N (5, 9 or 10)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

NETFLOW_VERSIONS = (1, 5, 7, 8, 9, 10)  # 10 is IPFIX


@dataclass(frozen=True)
class Count:
    """An integer in lo..hi (`what` names it in errors)."""

    lo: int
    hi: int
    what: str = "a count"


@dataclass(frozen=True)
class Seconds:
    """A positive number of seconds."""

    hi: float = 2**32 // 1000


@dataclass(frozen=True)
class Pattern:
    """Text that matches `regex` (`what` says what it looks like)."""

    regex: str
    what: str


@dataclass(frozen=True)
class NamedTimeouts:
    """`{NAME: seconds}` for the timeout names a tool knows; `aliases`: names that are one
    of every kind's fields (`maxlife` is the active timeout), so the lab says it once."""

    names: tuple[str, ...]
    aliases: Mapping[str, str] = field(default_factory=dict)  # name -> the probe field it is

    def __post_init__(self) -> None:
        object.__setattr__(self, "aliases", MappingProxyType(dict(self.aliases)))


@dataclass(frozen=True)
class ConfigLines:
    """`{KEY: VALUE}` lines merged into a config file the kind writes; `refused`: the keys
    the kind sets itself (a plugin-scoped `KEY[NAME]` too) -> the typed field to use."""

    refused: Mapping[str, str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "refused", MappingProxyType(dict(self.refused)))

    def refusal(self, key: str) -> str | None:
        """Why `key` may not be given (None: it goes in)."""
        return self.refused.get(key.split("[", 1)[0].strip())


Value = Count | Seconds | Pattern | NamedTimeouts | ConfigLines


def option(value: Value, flag: str | None, help: str, default: Any = None) -> Any:
    """A typed field of a kind's Options: `flag` is the tool's word it becomes (None: a
    config file line), refused in `args:`."""
    return field(default=default, metadata={"value": value, "flag": flag, "help": help})


@dataclass(frozen=True)
class KindOptions:
    """Base of every kind's Options (a kind with none uses it as it is). A mapping
    option (NamedTimeouts, ConfigLines) holds ((key, value), ...) in the file's order."""

    def shown(self) -> str:
        """`pending_queue 100000 (-q), config {snaplen: 128}`: what the lab set, for
        --explain and the report ("" when nothing)."""
        out = []
        for f in declared(type(self)):
            value = getattr(self, f.name)
            if value is None:
                continue
            text = "{" + ", ".join(f"{k}: {_num(v)}" for k, v in value) + "}" if isinstance(value, tuple) else _num(value)
            out.append(f"{f.name} {text}" + (f" ({f.metadata['flag']})" if f.metadata["flag"] else ""))
        return ", ".join(out)


def _num(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def declared(cls: type) -> list[dataclasses.Field]:
    """The typed fields of an Options class, in declaration order."""
    return [f for f in dataclasses.fields(cls) if "value" in f.metadata]


@dataclass(frozen=True)
class Flags:
    """How a tool's command line is read, and the words its kind writes itself.

    `short`: getopt's optstring (a letter followed by ':' takes a value: `-v9` and `-v 9`
    are the same, `-dN` is two flags); None for an argparse tool, whose options that take
    a value are `takes_value` (`--name VALUE`, `--name=VALUE`, `-nVALUE`; any unambiguous
    prefix of a long name is that name). `sets`: word -> what to write in the lab instead."""

    short: str | None = None
    sets: Mapping[str, str] = field(default_factory=dict)
    takes_value: frozenset[str] = frozenset()  # argparse tools only

    def __post_init__(self) -> None:
        object.__setattr__(self, "sets", MappingProxyType(dict(self.sets)))
        object.__setattr__(self, "takes_value", frozenset(self.takes_value))

    def takes(self, flag: str) -> bool:
        if self.short is None:
            return flag in self.takes_value
        at = self.short.find(flag[1])
        return at >= 0 and self.short[at + 1:at + 2] == ":"


def collisions(args: tuple[str, ...], flags: Flags, refused: Mapping[str, str]) -> list[tuple[int, str, str]]:
    """(index in args, the flag, what to write instead) for each word of `args` that gives
    one of `refused` (word -> instead), reading args as the tool's parser would."""
    out = []
    i = 0
    while i < len(args):
        word = args[i]
        i += 1
        if word == "--":
            break
        if word.startswith("--") and flags.short is None:
            name = word.split("=", 1)[0]
            full = [w for w in (*refused, *flags.takes_value) if w == name] or [
                w for w in (*refused, *flags.takes_value) if w.startswith("--") and w.startswith(name)]
            if full and full[0] in refused:
                out.append((i - 1, full[0], refused[full[0]]))
            if full and flags.takes(full[0]) and "=" not in word:
                i += 1  # its value
        elif word.startswith("-") and len(word) > 1 and not word.startswith("--"):
            for n, letter in enumerate(word[1:], 1):
                flag = "-" + letter
                if flag in refused:
                    out.append((i - 1, flag, refused[flag]))
                if flags.takes(flag):  # the rest of the word, or the next word, is its value
                    i += n == len(word) - 1
                    break
        # else: a word that is no option (getopt reads on past it)
    return out


def refused_words(flags: Flags, options: type) -> dict[str, str]:
    """Every word a kind writes itself: its `sets` and the flags of its typed options."""
    out = dict(flags.sets)
    for f in declared(options):
        if f.metadata["flag"]:
            out.setdefault(f.metadata["flag"], f"write {f.name}:")
    return out
