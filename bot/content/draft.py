"""What reading the content gathers before it is checked as a whole: the problems found so
far (``Collector``) and the raw pieces of every file (``Draft``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.content.knowledge import (
    Example,
    Intent,
    SafetyPattern,
)
from bot.content.problems import Problem, Severity, SourceRef


class Collector:
    """Accumulates problems while the content is read."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def error(
        self, message: str, file: Path, line: int | None, intent_id: str | None = None
    ) -> None:
        self.problems.append(Problem(message, file, line, intent_id))

    def warning(
        self, message: str, file: Path, line: int | None, intent_id: str | None = None
    ) -> None:
        self.problems.append(Problem(message, file, line, intent_id, Severity.WARNING))

    @property
    def has_errors(self) -> bool:
        return any(p.severity is Severity.ERROR for p in self.problems)


class Draft:
    """Raw pieces gathered from all files before cross-checks."""

    def __init__(self) -> None:
        self.intents: dict[str, Intent] = {}
        self.responses: dict[str, tuple[dict[Any, Any], SourceRef]] = {}
        self.messages: dict[str, tuple[str, SourceRef]] = {}
        self.synonyms: dict[str, tuple[str, ...]] = {}
        self.synonym_owner: dict[str, tuple[str, SourceRef]] = {}
        self.safety: list[SafetyPattern] = []
        self.out_of_scope: list[Example] = []
        self.not_offered: list[Example] = []
        self.popular: list[tuple[str, SourceRef]] = []
        self.commands: dict[str, str] = {}
        self.commands_ref: SourceRef | None = None
        self.admin_commands: dict[str, str] = {}
        self.admin_commands_ref: SourceRef | None = None
        # A file that does not parse: what it seems to define (any id or key in it) must not
        # be reported missing, but every other cross-reference is still checked.
        self.unreadable: list[Path] = []
        self.maybe_defined: set[str] = set()

    def defines(self, name: str, where: Mapping[str, object]) -> bool:
        """Whether ``name`` is in ``where``, or may be in a file that did not parse."""
        return name in where or name in self.maybe_defined
