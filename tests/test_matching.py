"""How questions are matched: the conversation table a user would notice."""

from __future__ import annotations

import pytest

from bot.content.knowledge import Knowledge
from bot.engine import DialogueEngine, ReplyKind

# Real-world phrasings and where each should land (a table, so adding a case is one line).
ANSWERED = [
    ("does it hurt?", "does_it_hurt"),
    ("DOES IT HURT", "does_it_hurt"),
    ("does acupunture hurt", "does_it_hurt"),  # typo
    ("is it painfull", "does_it_hurt"),  # typo of a synonym
    ("hurt it does?", "does_it_hurt"),  # word order
    ("does it hurt 😬😬", "does_it_hurt"),  # emoji
    ("hi, quick question: does it hurt?", "does_it_hurt"),  # filler
    ("what is chi", "what_is_qi"),  # synonym
    ("qi", "what_is_qi"),  # one word
    ("price?", "pricing"),
    ("hw much is it", "pricing"),  # chat shorthand
    ("cosmetic vs facial acupuncture", "cosmetic_vs_facial"),
    ("crow's feet", "wrinkles_collagen"),
    ("heyyy", "greeting"),
    ("thank you so much!", "thanks"),
    (
        "Hi! My sister had this done last year and loved it. I'm thinking about it too but "
        "honestly I'm terrified of needles. Does it hurt much?",
        "does_it_hurt",
    ),
]

REJECTED = [
    "does a tattoo hurt",
    "chi square test",
    "bitcoin price",
    "what's the weather tomorrow",
    "asdfghjkl",
    "🙂🙂🙂",
    "sing me a song",
    "where is the nearest pharmacy",
]


@pytest.mark.parametrize(("question", "intent_id"), ANSWERED)
def test_answers_the_right_topic(engine: DialogueEngine, question: str, intent_id: str) -> None:
    reply = engine.respond(question)
    assert reply.answered_intent == intent_id, reply.candidates[:3]


@pytest.mark.parametrize("question", REJECTED)
def test_out_of_scope_is_not_answered(engine: DialogueEngine, question: str) -> None:
    reply = engine.respond(question)
    assert reply.kind is ReplyKind.FALLBACK, reply.candidates[:3]


def test_every_example_resolves_to_its_own_intent(
    engine: DialogueEngine, knowledge: Knowledge
) -> None:
    wrong = [
        (intent.id, example.text, engine.respond(example.text).answered_intent)
        for intent in knowledge.intents.values()
        for example in intent.examples
        if engine.respond(example.text).answered_intent != intent.id
    ]
    assert wrong == []


def test_scores_are_ranked_and_bounded(engine: DialogueEngine) -> None:
    candidates = engine.rank("how long does a session take and what does it cost", limit=5)
    scores = [c.score for c in candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 100 for s in scores)
    assert {c.intent_id for c in candidates[:3]} & {"session_length", "pricing"}
