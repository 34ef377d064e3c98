"""Content problems: what is wrong, where, and how serious."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the content, located as precisely as we can."""

    message: str
    file: Path | None = None
    line: int | None = None
    intent_id: str | None = None
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line}" if self.line else str(self.file)
        subject = f"[{self.intent_id}] " if self.intent_id else ""
        prefix = f"{where}: " if where else ""
        return f"{prefix}{self.severity}: {subject}{self.message}"


@dataclass(frozen=True)
class SourceRef:
    """Where a piece of content was written, for error messages."""

    file: Path
    line: int


class ContentError(Exception):
    """The content could not be loaded; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity is Severity.ERROR]
        super().__init__(f"{len(errors)} content error(s):\n" + "\n".join(map(str, errors)))
