"""Ordered lists of named entries with a `kind:` (traffic steps, checks).

Both sections read the same way: names unique (the error names the line of
the first use), then a kind from a table of (required, optional) fields.
"""
from __future__ import annotations

from typing import Callable, TypeVar

from .fields import Reader
from .yamltree import Y

T = TypeVar("T")
Kinds = dict[str, tuple[tuple[str, ...], tuple[str, ...]]]


def read_entries(r: Reader, spec: Y, what: str, noun: str, read_one: Callable[[int, Y], T | None],
                 read_duplicates: bool) -> tuple[T, ...]:
    """Each entry of the list `spec` through `read_one(index, y)`; a repeated
    name is an error (the entry is still read when `read_duplicates`)."""
    out: list[T] = []
    names: dict[str, int] = {}
    for index, y in enumerate(r.sequence(spec, what)):
        name = y.get("name").value if y.get("name") is not None else None
        if isinstance(name, str) and name in names:  # even when the entry has other errors
            r.error(y, f"{noun} name {name!r} is also used on line {names[name]}")
            if not read_duplicates:
                continue
        elif isinstance(name, str):
            names[name] = y.line
        entry = read_one(index, y)
        if entry is not None:
            out.append(entry)
    return tuple(out)


def kind_fields(r: Reader, y: Y, kinds: Kinds, noun: str, shape: str,
                required: tuple[str, ...] = (), optional: tuple[str, ...] = ()
                ) -> tuple[str, dict[str, Y], tuple[str, ...], tuple[str, ...]] | None:
    """(kind, fields, the kind's required, its optional) of one entry, or None
    after reporting why. `shape` says what an entry looks like."""
    if not y.is_map or "kind" not in y.value:
        r.error(y, f"a {noun} is a mapping with {shape} ({', '.join(kinds)})")
        return None
    kind = r.choice(y.value["kind"], kinds, f"{noun} kind")
    if kind is None:
        return None
    req, opt = kinds[kind]
    f = r.fields(y, required + ("kind",) + req, optional + opt, f"{kind} {noun}")
    return None if f is None else (kind, f, req, opt)
