"""Reading the files of ``observability/`` once, keeping where every mapping, list and key came from.

The only place the tree's YAML and JSON are parsed. :func:`read_yaml` uses a safe
loader subclass (libyaml's ``CSafeLoader`` when present) that records the start line of
every node; :func:`read_json` uses the standard library's pure-Python scanner with a
hook that does the same for JSON objects and arrays. Both return plain ``dict``/``list`` subclasses (:class:`SourceMap`,
:class:`SourceList`) that know their line and the line of each key or item, so the typed
model (and every lint finding) can say ``file:line``.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agentic_trading.observability.errors import ObservabilityError


@dataclass(frozen=True, order=True)
class Location:
    """A file and a 1-based line (0: the file as a whole)."""

    file: Path
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else str(self.file)

    def relative_to(self, root: Path) -> Location:
        """The same place with the file relative to ``root`` when it lies under it."""
        try:
            return Location(self.file.relative_to(root), self.line)
        except ValueError:
            return self


class SourceMap(dict):
    """A mapping read from a file: ``line`` is where it starts, ``key_line(k)`` where key ``k`` is."""

    line: int = 0
    key_lines: dict[str, int]

    def key_line(self, key: str) -> int:
        return getattr(self, "key_lines", {}).get(key, self.line)


class SourceList(list):
    """A sequence read from a file: ``line`` is where it starts, ``item_line(i)`` where item ``i`` is."""

    line: int = 0
    item_lines: list[int]

    def item_line(self, index: int) -> int:
        lines = getattr(self, "item_lines", [])
        return lines[index] if index < len(lines) else self.line


def to_plain(value: Any) -> Any:
    """A deep copy with plain dicts and lists: what renderers and other YAML dumpers expect."""
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_plain(item) for item in value]
    return value


def line_of(value: Any, default: int = 0) -> int:
    """The start line of a mapping or list read by this module (``default`` for scalars)."""
    return getattr(value, "line", default) or default


# --- YAML ---------------------------------------------------------------------------------------


# libyaml's parser when PyYAML has it (about ten times faster; its nodes carry marks too).
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """The safe loader whose mappings and sequences remember their lines (1-based)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> SourceMap:
    loader.flatten_mapping(node)
    mapping = SourceMap()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError as exc:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "found an unhashable key", key_node.start_mark
            ) from exc
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[str(key)] = key_node.start_mark.line + 1
    return mapping


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> SourceList:
    sequence = SourceList(loader.construct_object(child, deep=True) for child in node.value)
    sequence.line = node.start_mark.line + 1
    sequence.item_lines = [child.start_mark.line + 1 for child in node.value]
    return sequence


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def parse_yaml(text: str, file: Path) -> Any:
    """The YAML document in ``text`` with line numbers; a syntax error names ``file:line``."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - _LineLoader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise ObservabilityError(
            f"{Location(Path(file), line)}: not valid YAML ({exc.problem or exc}): fix the syntax there"
        ) from exc
    except yaml.YAMLError as exc:
        raise ObservabilityError(f"{file}: not valid YAML ({exc}): fix the syntax") from exc


def read_yaml(path: Path, *, what: str = "file") -> SourceMap:
    """A YAML file whose top level must be a mapping; every problem names the file and the fix."""
    document = parse_yaml(_read_text(path, what), path)
    if not isinstance(document, SourceMap):
        raise ObservabilityError(f"{path}: expected a YAML mapping at the top level (the {what})")
    return document


def _read_text(path: Path, what: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise ObservabilityError(f"cannot read the {what} {path}: {exc.strerror or exc}") from exc


# --- JSON -----------------------------------------------------------------------------------------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_COLON = re.compile(r"\s*:")


def _line_at(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _key_lines(text: str, start: int, end: int) -> dict[str, int]:
    """Line of each key directly inside the JSON object ``text[start:end]`` (start at its ``{``)."""
    lines: dict[str, int] = {}
    depth = 0
    index = start
    while index < end:
        char = text[index]
        if char == '"':
            match = _STRING.match(text, index)
            if match is None:
                break
            if depth == 1 and _COLON.match(text, match.end()):
                lines.setdefault(json.loads(match.group(0)), _line_at(text, index))
            index = match.end()
            continue
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
        index += 1
    return lines


class _LineDecoder(json.JSONDecoder):
    """A JSONDecoder whose objects and arrays are SourceMap/SourceList with their lines."""

    def __init__(self) -> None:
        super().__init__()

        def parse_object(s_and_end: tuple[str, int], *args: Any) -> tuple[SourceMap, int]:
            text, start = s_and_end
            pairs, end = json.decoder.JSONObject(s_and_end, *args)
            mapping = SourceMap(pairs)
            mapping.line = _line_at(text, start - 1)
            mapping.key_lines = _key_lines(text, start - 1, end)
            return mapping, end

        def parse_array(s_and_end: tuple[str, int], scan_once: Any) -> tuple[SourceList, int]:
            text, start = s_and_end
            values, end = json.decoder.JSONArray(s_and_end, scan_once)
            sequence = SourceList(values)
            sequence.line = _line_at(text, start - 1)
            sequence.item_lines = [line_of(value, sequence.line) for value in values]
            return sequence, end

        self.parse_object = parse_object
        self.parse_array = parse_array
        self.scan_once = json.scanner.py_make_scanner(self)


def read_json(path: Path, *, what: str = "file") -> SourceMap:
    """A JSON file whose top level must be an object, with line numbers."""
    text = _read_text(path, what)
    try:
        document = _LineDecoder().decode(text)
    except json.JSONDecodeError as exc:
        raise ObservabilityError(f"{Location(Path(path), exc.lineno)}: not valid JSON ({exc.msg}): fix the syntax there") from exc
    if not isinstance(document, SourceMap):
        raise ObservabilityError(f"{path}: expected a JSON object at the top level (the {what})")
    return document
