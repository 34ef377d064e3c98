"""The clinic teaches its bot: unanswered phrasings an admin assigns to a topic, or to "not
ours", become examples the matcher learns from, as if they were in the content files.

They are kept in the database (``EventStore.add_learned``), validated like any example (a
real topic, not a safety question, not already taught as something else) and merged into the
content's knowledge each time the matcher trains (``with_lessons``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from bot.analytics.records import Learned
from bot.content.knowledge import Example, Knowledge, freeze
from bot.content.phrasing import basic_tokens
from bot.content.problems import SourceRef
from bot.engine import DialogueEngine
from bot.nlu.classifier import OUT_OF_SCOPE

LEARNED_SOURCE = Path("learned")  # where a taught example "was written", for messages


def lesson_problem(engine: DialogueEngine, text: str, intent_id: str) -> str | None:
    """Why ``text`` cannot be taught as ``intent_id``; None when it can."""
    knowledge = engine.knowledge
    if intent_id != OUT_OF_SCOPE and intent_id not in knowledge.intents:
        return f"there is no topic {intent_id!r}"
    key = " ".join(basic_tokens(text))
    if not key:
        return "it has no words"
    if engine.is_safety_question(text):
        # The safety screen answers these (see a practitioner): a topic must never.
        return "it is a safety question"
    owner = _owners(knowledge).get(key)
    if owner == intent_id:
        return "it is already known"
    if owner is not None:
        return f"it is already an example of {owner!r}"
    return None


def with_lessons(knowledge: Knowledge, lessons: Iterable[Learned]) -> Knowledge:
    """``knowledge`` with each valid lesson added as an example of its class (the oldest
    lesson wins when two disagree, so undoing the newer one restores the older)."""
    owners = _owners(knowledge)
    added: dict[str, list[Example]] = {}
    for lesson in sorted(lessons, key=lambda learned: learned.id):
        key = " ".join(basic_tokens(lesson.text))
        known = lesson.intent_id == OUT_OF_SCOPE or lesson.intent_id in knowledge.intents
        if not key or key in owners or not known:
            continue
        owners[key] = lesson.intent_id
        example = Example(lesson.text, SourceRef(LEARNED_SOURCE, lesson.id))
        added.setdefault(lesson.intent_id, []).append(example)
    if not added:
        return knowledge
    intents = {
        intent_id: replace(intent, examples=intent.examples + tuple(added.get(intent_id, ())))
        for intent_id, intent in knowledge.intents.items()
    }
    return replace(
        knowledge,
        intents=freeze(intents),
        out_of_scope=knowledge.out_of_scope + tuple(added.get(OUT_OF_SCOPE, ())),
    )


def _owners(knowledge: Knowledge) -> dict[str, str]:
    """Each known phrasing (as word tokens) -> the class it is an example of."""
    owners = {
        " ".join(basic_tokens(example.text)): intent_id
        for intent_id, intent in knowledge.intents.items()
        for example in intent.examples
    }
    for example in (*knowledge.out_of_scope, *knowledge.not_offered):
        owners.setdefault(" ".join(basic_tokens(example.text)), OUT_OF_SCOPE)
    return owners
