"""YAML -> a tree of `Y` nodes that remember their line and their path.

PyYAML's composer gives every node a start mark; we keep it (1-based) so each
error can say `file:line: path: message`. Scalars are typed by the safe
loader; mapping keys stay the text that was written (so `no:` is not False).
Duplicate keys are errors (plain PyYAML silently keeps the last one).

Hostile input is refused with one error, not a traceback or minutes of work:
aliases that would expand the document past MAX_VALUES values (an "alias
bomb": each level repeating the one below), an alias inside its own anchor,
nesting too deep, text that is not UTF-8 (the caller decodes with
errors="surrogateescape", so a bad byte arrives as a lone surrogate) and
characters YAML does not allow (NUL, control characters).
"""
from __future__ import annotations

from typing import Any, Iterator

import yaml

from .errors import Problems

MAX_VALUES = 100_000  # values in a document with its aliases expanded; a lab has a few thousand


class Y:
    """One YAML value: `.value` is dict[str, Y], list[Y] or a plain scalar."""

    __slots__ = ("value", "line", "path", "keyline")

    def __init__(self, value: Any, line: int, path: str, keyline: int | None = None):
        self.value, self.line, self.path = value, line, path
        self.keyline = keyline or line  # where `key:` was written, for "unknown field" errors

    @property
    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_seq(self) -> bool:
        return isinstance(self.value, list)

    @property
    def is_scalar(self) -> bool:
        return not (self.is_map or self.is_seq)

    def get(self, key: str) -> "Y | None":
        return self.value.get(key) if self.is_map else None

    def items(self) -> Iterator[tuple[str, "Y"]]:
        return iter(self.value.items()) if self.is_map else iter(())

    def __iter__(self) -> Iterator["Y"]:
        return iter(self.value) if self.is_seq else iter(())

    def plain(self) -> Any:
        """The value with line information dropped (for free-form payloads)."""
        if self.is_map:
            return {k: v.plain() for k, v in self.value.items()}
        if self.is_seq:
            return [v.plain() for v in self.value]
        return self.value

    def __repr__(self) -> str:
        return f"Y({self.path or '<root>'}@{self.line}: {self.plain()!r})"


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _convert(loader: yaml.SafeLoader, node: yaml.Node, path: str, problems: Problems) -> Y:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.SequenceNode):
        return Y([_convert(loader, n, _child(path, i), problems) for i, n in enumerate(node.value)],
                 line, path)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for knode, _ in node.value:
            if knode.tag == "tag:yaml.org,2002:merge":
                continue
            key = str(knode.value)
            if key in seen:
                problems.add(knode.start_mark.line + 1, _child(path, key),
                             f"duplicate key (first on line {seen[key]})")
            seen[key] = knode.start_mark.line + 1
        loader.flatten_mapping(node)  # resolves `<<: *anchor` merge keys
        out: dict[str, Y] = {}
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                problems.add(knode.start_mark.line + 1, path, "mapping keys must be plain words")
                continue
            key = str(knode.value)
            out[key] = value = _convert(loader, vnode, _child(path, key), problems)
            value.keyline = knode.start_mark.line + 1
        return Y(out, line, path)
    return Y(loader.construct_object(node, deep=True), line, path)


def _expanded(node: yaml.Node, sizes: dict[int, int], path: set[int]) -> int:
    """How many values `node` stands for once aliases are expanded (at most
    MAX_VALUES + 1: the counting stops there). Linear in the distinct nodes."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    if id(node) in path:
        raise _SelfAlias(node)
    path.add(id(node))
    n = 1
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            n = min(n + _expanded(child, sizes, path), MAX_VALUES + 1)
    elif isinstance(node, yaml.MappingNode):  # a merge key counts what it merges
        for k, v in node.value:
            n = min(n + _expanded(k, sizes, path) + _expanded(v, sizes, path), MAX_VALUES + 1)
    path.discard(id(node))
    sizes[id(node)] = n
    return n


class _SelfAlias(Exception):
    def __init__(self, node: yaml.Node):
        self.node = node


def _culprit(node: yaml.Node, sizes: dict[int, int]) -> yaml.Node:
    """The innermost node that alone expands past the limit (where to point)."""
    while True:
        children = (node.value if isinstance(node, yaml.SequenceNode) else
                    [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else [])
        big = next((c for c in children if sizes.get(id(c), 0) > MAX_VALUES), None)
        if big is None:
            return node
        node = big


def _reader_problem(exc: yaml.reader.ReaderError, text: str) -> tuple[int, str]:
    """A character YAML refuses: where, and what it is."""
    line = text.count("\n", 0, exc.position) + 1
    char = exc.character if isinstance(exc.character, int) else ord(exc.character)
    if 0xDC80 <= char <= 0xDCFF:  # surrogateescape: a byte that is not UTF-8
        return line, f"not UTF-8 text: byte 0x{char - 0xDC00:02x} (save the file as UTF-8)"
    if char == 0:
        return line, "a NUL byte: this is not a text file"
    return line, f"character U+{char:04X} is not allowed in YAML"


def parse(text: str, problems: Problems) -> Y | None:
    """The document as a Y tree, or None (with a problem recorded) if it is not YAML."""
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # (checks every character first)
        node = loader.get_single_node()
        if node is None:
            problems.add(1, "", "the file is empty")
            return None
        sizes: dict[int, int] = {}
        if _expanded(node, sizes, set()) > MAX_VALUES:
            problems.add(_culprit(node, sizes).start_mark.line + 1, "",
                         f"its aliases (*name) expand to more than {MAX_VALUES} values: "
                         "an alias bomb? (write the values out, or use fewer aliases)")
            return None
        return _convert(loader, node, "", problems)
    except _SelfAlias as exc:
        problems.add(exc.node.start_mark.line + 1, "", "an alias (*name) inside its own anchor (&name)")
        return None
    except RecursionError:
        problems.add(1, "", "not valid YAML: nested too deeply")
        return None
    except yaml.reader.ReaderError as exc:
        line, message = _reader_problem(exc, text)
        problems.add(line, "", message)
        return None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problems.add(mark.line + 1 if mark else 1, "", f"not valid YAML: {exc.problem or exc}")
        return None
    except yaml.YAMLError as exc:
        problems.add(1, "", f"not valid YAML: {exc}")
        return None
    finally:
        if loader is not None:
            loader.dispose()


def tree(value: Any, path: str = "", line: int = 0) -> Y:
    """A Y tree of plain data (no file behind it: every line is `line`)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out[str(k)] = tree(v, _child(path, str(k)), line)
        return Y(out, line, path)
    if isinstance(value, (list, tuple)):
        return Y([tree(v, _child(path, i), line) for i, v in enumerate(value)], line, path)
    return Y(value, line, path)
