"""Read YAML safely while remembering the line of every mapping key and list item.

``yaml.safe_load`` throws line numbers away; validation messages need them, so we use a
subclass of ``SafeLoader`` (same safety: no arbitrary objects) that records positions. It
parses with libyaml (``CSafeLoader``) where PyYAML was built with it: the content's
thousands of examples parse in a tenth of the time, which every start of the bot pays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, SequenceNode

from bot.content.problems import Problem


class LineDict(dict[Any, Any]):
    """A dict that knows the 1-based line of itself and of each key."""

    line: int = 0
    key_lines: dict[Any, int]


class LineList(list[Any]):
    """A list that knows the 1-based line of itself and of each item."""

    line: int = 0
    item_lines: list[int]


_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    def construct_mapping(self, node: MappingNode, deep: bool = False) -> LineDict:
        self.flatten_mapping(node)
        mapping = LineDict()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in mapping:
                # PyYAML silently keeps the last duplicate key; a clinic editor would lose text.
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            mapping[key] = self.construct_object(value_node, deep=True)
            mapping.key_lines[key] = key_node.start_mark.line + 1
        return mapping

    def construct_sequence(self, node: SequenceNode, deep: bool = False) -> LineList:
        items = LineList(self.construct_object(child, deep=True) for child in node.value)
        items.line = node.start_mark.line + 1
        items.item_lines = [child.start_mark.line + 1 for child in node.value]
        return items


_LineLoader.add_constructor("tag:yaml.org,2002:map", _LineLoader.construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _LineLoader.construct_sequence)


def read_yaml(path: Path) -> tuple[Any, list[Problem]]:
    """Parse one YAML file; on failure return ``None`` and a problem naming file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(f"cannot read file: {exc}", file=path)]
    try:
        return yaml.load(text, Loader=_LineLoader), []  # _LineLoader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = " ".join(part for part in (exc.context, exc.problem) if part)
        return None, [Problem(f"invalid YAML: {reason}", file=path, line=line)]
    except yaml.YAMLError as exc:
        return None, [Problem(f"invalid YAML: {exc}", file=path)]


def line_of(container: Any, key: Any, default: int | None = None) -> int | None:
    """Line of ``key`` in a LineDict or of index ``key`` in a LineList, if known."""
    if isinstance(container, LineDict):
        return container.key_lines.get(key, container.line or default)
    if isinstance(container, LineList) and isinstance(key, int) and key < len(container.item_lines):
        return container.item_lines[key]
    return default
