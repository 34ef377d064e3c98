"""What a content change adds and removes, and whether it looks like an accident.

A file cut off while it was copied or saved still parses: a `safety.yaml` cut after ten
lines loads with one pattern of twenty-four. So `/reload` (and `python -m bot validate`)
compare the counts of every kind of entry before and after, show the differences, and
treat a change that loses safety patterns or topics, or more than a quarter of any kind,
as suspect: `/reload` refuses it unless the admin confirms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.content.knowledge import Knowledge

# Shares of entries a change may lose before it needs confirming.
MAX_LOSS = 0.25
# Kinds of which any loss needs confirming: each one protects patients or is a whole topic.
GUARDED = ("topics", "safety patterns")


def content_counts(knowledge: Knowledge) -> dict[str, int]:
    """How many entries of each kind the content has."""
    topics = [i for i in knowledge.intents.values() if not i.smalltalk]
    return {
        "topics": len(topics),
        "small talk": len(knowledge.intents) - len(topics),
        "examples": sum(len(i.examples) for i in knowledge.intents.values()),
        "answers": len(knowledge.responses),
        "messages": len(knowledge.messages),
        "synonyms": sum(1 + len(v) for v in knowledge.synonyms.values()),
        "safety patterns": len(knowledge.safety_patterns),
        "out-of-scope examples": len(knowledge.out_of_scope),
        "not-offered examples": len(knowledge.not_offered),
    }


@dataclass(frozen=True)
class Change:
    """One kind of entry whose count differs."""

    kind: str
    before: int
    after: int

    @property
    def suspect(self) -> bool:
        """Lost a guarded kind, or more than MAX_LOSS of any kind."""
        if self.after >= self.before:
            return False
        return self.kind in GUARDED or self.after < (1.0 - MAX_LOSS) * self.before

    def __str__(self) -> str:
        return f"{self.kind}: {self.before} -> {self.after}"


def compare(before: Mapping[str, int], after: Mapping[str, int]) -> list[Change]:
    """Every kind whose count changed, in a fixed order."""
    kinds = list(dict.fromkeys([*before, *after]))
    return [
        Change(kind, before.get(kind, 0), after.get(kind, 0))
        for kind in kinds
        if before.get(kind, 0) != after.get(kind, 0)
    ]
