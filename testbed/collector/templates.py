"""v9/IPFIX templates: each compiled once into how its records read, and the
store that keeps them per scope, bounded.

A template whose fields all have fixed lengths reads a whole data set with one
precompiled struct (`iter_unpack`); one with variable-length fields (RFC 7011
7: a length octet, or 255 and two more) reads field by field. Rows are the
struct's results; `readers` turn them into values (addresses into text...).
Set padding: what is left when less than the smallest record remains (RFC
7011 3.3.1); it must be zeros (a finding otherwise, not a malformed message).

Templates are scoped as nfdump and Wireshark do: per (exporter address,
exporter port, version, domain). A flood of template ids cannot grow memory
without bound: past `max_templates` or `max_fields` (fields of all templates)
the least recently received ones are dropped, and counted.
"""
from __future__ import annotations

import struct
from collections import Counter, OrderedDict
from typing import NamedTuple

from testbed.collector.elements import VARIABLE, Element, element, field_format, fits, v9_scope
from testbed.collector.model import FieldSpec


class SetError(Exception):
    """A data set that cannot be read with its template (a malformed message, RFC 7011 9.1)."""


class Template:
    """A (options) template, compiled. An options template's first `scope_count`
    fields are its scope."""

    __slots__ = ("id", "fields", "scope_count", "options", "elements", "readers", "variable", "size", "struct",
                 "_steps", "misfits", "plan")

    def __init__(self, tid: int, fields: tuple[FieldSpec, ...], scope_count: int = 0, options: bool = False,
                 v9: bool = False):
        self.id, self.fields, self.scope_count, self.options = tid, fields, scope_count, options
        self.elements: tuple[Element, ...] = tuple(
            v9_scope(f.id) if v9 and i < scope_count else element(f.pen, f.id) for i, f in enumerate(fields))
        self.variable = any(f.length == VARIABLE for f in fields)
        # (struct code, reader); a variable-length field uses only the reader
        formats = [field_format(e.type, f.length) for f, e in zip(fields, self.elements)]
        self.readers = tuple(after for _, after in formats)
        self.misfits = tuple(f"{e.name} ({e.type.name}) in "
                             + ("variable length" if f.length == VARIABLE else f"{f.length} octets")
                             for f, e in zip(fields, self.elements) if not fits(e.type, f.length))
        self.plan = None  # how its rows become records (flowmap.py), made on first use
        if not self.variable:
            self.struct = struct.Struct(">" + "".join(code for code, _ in formats))
            self.size = self.struct.size
            self._steps = ()
        else:
            self.struct = None
            self._steps = tuple((None if f.length == VARIABLE else struct.Struct(">" + code))
                                for f, (code, _) in zip(fields, formats))
            self.size = sum(1 if f.length == VARIABLE else f.length for f in fields)  # the smallest record

    @property
    def layout(self) -> tuple:
        return self.options, self.scope_count, self.fields

    def rows(self, body: bytes) -> tuple[list[tuple], bytes]:
        """The records of a data set's body as rows, and its padding."""
        size = self.size
        if not self.variable:
            n = len(body) // size
            return list(self.struct.iter_unpack(body[:n * size])), body[n * size:]
        out, pos, end = [], 0, len(body)
        while end - pos >= size:
            row = []
            for step in self._steps:
                if step is None:
                    if pos >= end:
                        raise SetError(f"record {len(out) + 1} ends inside its variable-length field")
                    n, pos = body[pos], pos + 1
                    if n == 255:
                        if pos + 2 > end:
                            raise SetError(f"record {len(out) + 1}: a 3-octet length runs past the set")
                        n, pos = (body[pos] << 8) | body[pos + 1], pos + 2
                    if pos + n > end:
                        raise SetError(f"record {len(out) + 1}: a variable-length field of {n} octets "
                                       f"runs {pos + n - end} past the set")
                    row.append(body[pos:pos + n])
                    pos += n
                else:
                    if pos + step.size > end:
                        raise SetError(f"record {len(out) + 1} runs past the set")
                    row.append(step.unpack_from(body, pos)[0])
                    pos += step.size
            out.append(tuple(row))
        return out, body[pos:]

    def values(self, row: tuple) -> tuple:
        """A row's values as they read (addresses as text, strings decoded...)."""
        return tuple(v if r is None else r(v) for v, r in zip(row, self.readers))


class Scope(NamedTuple):
    exporter: str
    port: int
    version: int
    domain: int


class TemplateStore:
    def __init__(self, max_templates: int = 4096, max_fields: int = 1 << 17):
        self.max_templates, self.max_fields = max_templates, max_fields
        self._t: OrderedDict[tuple[Scope, int], Template] = OrderedDict()
        self.fields = 0
        self.counts: Counter[str] = Counter()  # defined, refreshed, redefined, withdrawn, evicted

    def __len__(self) -> int:
        return len(self._t)

    def get(self, scope: Scope, tid: int) -> Template | None:
        return self._t.get((scope, tid))

    def define(self, scope: Scope, t: Template) -> str:
        """Keep `t` (the newest of its id wins, RFC 7011 8.4): 'defined', 'refreshed' or 'redefined'."""
        key = (scope, t.id)
        old = self._t.pop(key, None)
        if old is not None:
            self.fields -= len(old.fields)
            what = "refreshed" if old.layout == t.layout else "redefined"
            if what == "refreshed":
                t = old  # keep the compiled one (and its plan)
        else:
            what = "defined"
        self._t[key] = t
        self.fields += len(t.fields)
        self.counts[what] += 1
        while len(self._t) > self.max_templates or self.fields > self.max_fields:
            _, gone = self._t.popitem(last=False)  # the least recently received
            self.fields -= len(gone.fields)
            self.counts["evicted"] += 1
        return what

    def withdraw(self, scope: Scope, tid: int) -> bool:
        gone = self._t.pop((scope, tid), None)
        if gone is not None:
            self.fields -= len(gone.fields)
            self.counts["withdrawn"] += 1
        return gone is not None

    def withdraw_all(self, scope: Scope, options: bool) -> int:
        """IPFIX's withdraw-all (RFC 7011 8.1): every template, or every options template, of the scope."""
        keys = [k for k, t in self._t.items() if k[0] == scope and t.options == options]
        for k in keys:
            self.withdraw(*k)
        return len(keys)
