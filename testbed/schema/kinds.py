"""Kinds of list entries (traffic steps, checks): one frozen dataclass per kind.

A kind declares its YAML fields as dataclass fields made with `spec()`: the
name (or `key=` where YAML says `from:`), the default (none: required) and
the reader. `Kinds.read` checks the keys, reads every value once, applies the
defaults and returns the instance, so nothing downstream sees YAML or guesses
a default. `explain()` prints the effective values (`validate --explain`).

A reader is `read(r, known, y, got)`: `known` resolves names in the lab file,
`got` holds the fields read so far (in declaration order), for the few fields
that depend on another (a route on its node, an interface on its probe).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, ClassVar, TypeVar

from .fields import Reader
from .yamltree import Y

Read = Callable[[Reader, Any, Y, dict], Any]
T = TypeVar("T", bound="Entry")


def spec(read: Read, default: Any = dataclasses.MISSING, key: str | None = None) -> Any:
    """A YAML field of a kind; without a default it is required."""
    return dataclasses.field(default=default, metadata={"read": read, "key": key})


def plain(fn: Callable[[Reader, Y], Any]) -> Read:
    """A reader that needs only the value."""
    return lambda r, known, y, got: fn(r, y)


def choice(*choices: str, what: str = "value") -> Read:
    """One of `choices`, as written."""
    return plain(lambda r, y: r.choice(y, choices, what))


def _name(r: Reader, y: Y) -> str | None:
    return r.text(y, "a name")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Entry:
    """What every entry has: its place in the list, its line, an optional name."""

    kind: ClassVar[str] = ""
    index: int = 0
    line: int = 0
    name: str | None = spec(plain(_name), None)

    @classmethod
    def prepare(cls, r: Reader, known: Any, y: Y, f: dict[str, Y]) -> dict:
        """Values decided before the fields are read, such as a default that
        depends on the lab (a value of None: reported, the entry is invalid)."""
        return {}

    @classmethod
    def finish(cls, r: Reader, known: Any, y: Y, values: dict) -> bool:
        """Rules between fields, after all are read (some may have failed: None,
        or missing); False after reporting why."""
        return True

    def explain(self) -> str:
        """`kind name: field=value ...` with every effective value."""
        parts = []
        for f in yaml_fields(type(self)):
            if f.name not in ("name", "message"):
                parts.append(f"{key_of(f)}={_show(getattr(self, f.name))}")
        return f"{self.kind}{' ' + self.name if self.name else ''}: " + " ".join(parts)


def yaml_fields(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if "read" in f.metadata]


def key_of(f: dataclasses.Field) -> str:
    return f.metadata["key"] or f.name


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return "-" if value is None else str(value)


class Kinds:
    """The kinds of one list (`traffic:` steps, `expect:` checks), by `kind:`."""

    def __init__(self, noun: str, shape: str) -> None:
        self.noun, self.shape = noun, shape  # shape: what an entry looks like, for errors
        self.kinds: dict[str, type[Entry]] = {}

    def add(self, cls: type[T]) -> type[T]:
        """Class decorator: register a kind under its `kind` name."""
        if not cls.kind or cls.kind in self.kinds:
            raise ValueError(f"{self.noun} kind {cls.kind!r} is empty or registered twice")
        self.kinds[cls.kind] = cls
        return cls

    def read_list(self, r: Reader, y: Y, known: Any, what: str,
                  read_duplicates: bool) -> tuple[Entry, ...]:
        """Every entry of the list `y`; a repeated name is an error (the entry is
        still read when `read_duplicates`, so its other problems show too)."""
        out: list[Entry] = []
        names: dict[str, int] = {}
        for index, item in enumerate(r.sequence(y, what)):
            name = item.get("name").value if item.get("name") is not None else None
            if isinstance(name, str) and name in names:
                r.error(item, f"{self.noun} name {name!r} is also used on line {names[name]}")
                if not read_duplicates:
                    continue
            elif isinstance(name, str):
                names[name] = item.line
            entry = self.read(r, known, index, item)
            if entry is not None:
                out.append(entry)
        return tuple(out)

    def read(self, r: Reader, known: Any, index: int, y: Y) -> Entry | None:
        """One entry as its kind's dataclass, or None after reporting every problem."""
        if not y.is_map or "kind" not in y.value:
            r.error(y, f"a {self.noun} is a mapping with {self.shape} ({', '.join(sorted(self.kinds))})")
            return None
        kind = r.choice(y.value["kind"], sorted(self.kinds), f"{self.noun} kind")
        if kind is None:
            return None
        cls = self.kinds[kind]
        fields = yaml_fields(cls)
        required = tuple(key_of(f) for f in fields if _required(f))
        optional = tuple(key_of(f) for f in fields if not _required(f))
        f = r.fields(y, ("kind",) + required, optional, f"{kind} {self.noun}")
        if f is None:
            return None
        values = cls.prepare(r, known, y, f)
        for field in fields:
            key = key_of(field)
            if key in f:
                values[field.name] = field.metadata["read"](r, known, f[key], values)
        # a reader returns None only after reporting why
        ok = all(k in f for k in required) and all(v is not None for v in values.values())
        if not cls.finish(r, known, y, values) or not ok:  # its rules, even when a field failed
            return None
        return cls(index=index, line=y.line, **values)
