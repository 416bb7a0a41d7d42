"""YAML -> a tree of `Y` nodes that remember their line and their path.

PyYAML's composer gives every node a start mark; we keep it (1-based) so each
error can say `file:line: path: message`. Scalars are typed by the safe
loader; mapping keys stay the text that was written (so `no:` is not False).
Duplicate keys are errors (plain PyYAML silently keeps the last one).
"""
from __future__ import annotations

from typing import Any, Iterator

import yaml

from .errors import Problems


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


def parse(text: str, problems: Problems) -> Y | None:
    """The document as a Y tree, or None (with a problem recorded) if it is not YAML."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            problems.add(1, "", "the file is empty")
            return None
        return _convert(loader, node, "", problems)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problems.add(mark.line + 1 if mark else 1, "", f"not valid YAML: {exc.problem or exc}")
        return None
    except yaml.YAMLError as exc:
        problems.add(1, "", f"not valid YAML: {exc}")
        return None
    finally:
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
