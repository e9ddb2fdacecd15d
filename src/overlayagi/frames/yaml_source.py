"""YAML that remembers where things came from.

``load_yaml`` returns plain ``dict``/``list`` subclasses that carry the file and the line and
column of every key and item, so a validation error deep in a frame can point at
``frames/deep.yaml:14:5``. The positions survive merging (``extends``) because they travel
with the container objects themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode


@dataclass(frozen=True)
class Pos:
    """A 1-based position in a source file. ``block`` marks a ``|``/``>`` scalar, whose text
    starts on the next line."""

    file: str
    line: int
    col: int
    block: bool = False

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class PosDict(dict[str, Any]):
    """A mapping with the position of each key and of each value."""

    start: Pos
    key_pos: dict[str, Pos]
    value_pos: dict[str, Pos]


class PosList(list[Any]):
    """A sequence with the position of each item."""

    start: Pos
    item_pos: list[Pos]


def _pos(file: str, node: Node) -> Pos:
    style = getattr(node, "style", None)
    return Pos(file, node.start_mark.line + 1, node.start_mark.column + 1, style in ("|", ">"))


class _Loader(yaml.SafeLoader):
    file = "<string>"

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> PosDict:  # type: ignore[override]
        self.flatten_mapping(node)
        result = PosDict()
        result.start = _pos(self.file, node)
        result.key_pos, result.value_pos = {}, {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key)
            if key in result:
                raise DuplicateKeyError(key, _pos(self.file, key_node))
            result[key] = self.construct_object(value_node, deep=True)
            result.key_pos[key] = _pos(self.file, key_node)
            result.value_pos[key] = _pos(self.file, value_node)
        return result

    def construct_sequence(self, node: SequenceNode, deep: bool = False) -> PosList:
        result = PosList(self.construct_object(child, deep=True) for child in node.value)
        result.start = _pos(self.file, node)
        result.item_pos = [_pos(self.file, child) for child in node.value]
        return result


def _construct_map(loader: _Loader, node: MappingNode) -> PosDict:
    return loader.construct_mapping(node, deep=True)


def _construct_seq(loader: _Loader, node: SequenceNode) -> PosList:
    return loader.construct_sequence(node, deep=True)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


class DuplicateKeyError(Exception):
    def __init__(self, key: str, pos: Pos) -> None:
        super().__init__(f"duplicate key '{key}'")
        self.key = key
        self.pos = pos


class YamlSyntaxError(Exception):
    def __init__(self, message: str, pos: Pos) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


def load_yaml(text: str, file: str | Path) -> Any:
    """Parse ``text``; syntax errors become ``YamlSyntaxError`` with a position."""
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:  # a control character: refused before parsing
        before = text[: exc.position]
        line, col = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        raise YamlSyntaxError(
            f"character {exc.character:#x} is not allowed in YAML (remove it)",
            Pos(str(file), line, col),
        ) from None
    loader.file = str(file)
    try:
        return loader.get_single_data()
    except DuplicateKeyError as exc:
        raise YamlSyntaxError(str(exc), exc.pos) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise YamlSyntaxError(message, Pos(str(file), line, col)) from None
    finally:
        loader.dispose()


def position_of(data: Any, path: tuple[str | int, ...], *, key: bool = True) -> Pos | None:
    """The position of ``path`` inside ``data`` (its key, or its value with ``key=False``),
    else that of the nearest enclosing container that has one."""
    best: Pos | None = getattr(data, "start", None)
    node = data
    for part in path:
        if isinstance(node, PosDict) and isinstance(part, str) and part in node:
            best = (node.key_pos if key else node.value_pos).get(part, best)
        elif isinstance(node, PosList) and isinstance(part, int) and 0 <= part < len(node):
            best = node.item_pos[part]
        else:
            break
        node = node[part]
    return best


def value_position(data: Any, path: tuple[str | int, ...]) -> Pos | None:
    """Where the value at ``path`` starts (for template line offsets)."""
    return position_of(data, path, key=False)
