"""The clinic teaches its bot from /gaps: one tap and the next such question is answered;
Undo takes it back; safety questions and conflicting phrasings are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.analytics.learning import lesson_problem, with_lessons
from bot.analytics.records import Learned
from bot.content.knowledge import Knowledge
from bot.engine import DialogueEngine, ReplyKind
from bot.nlu.classifier import OUT_OF_SCOPE
from tests.support.harness import Harness, offline_bot

ADMIN, PATIENT = 9001, 42
QUESTION = "is the clinic dog friendly"


@pytest.fixture
async def bot(knowledge: Knowledge) -> AsyncIterator[Harness]:
    async with offline_bot(knowledge, admin_ids=frozenset({ADMIN})) as harness:
        yield harness
    assert harness.errors == []


def buttons(params: dict[str, Any]) -> list[dict[str, Any]]:
    markup = params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def card_message(params: dict[str, Any]) -> dict[str, Any]:
    """The bot's message as the button's owner (what a press is under)."""
    return {
        "message_id": 77,
        "date": 0,
        "chat": {"id": ADMIN, "type": "private"},
        "from": {"id": 777000, "is_bot": True, "first_name": "Clinic FAQ"},
        "text": params["text"],
        "reply_markup": params.get("reply_markup"),
    }


async def test_one_tap_teaches_the_nearest_topic_and_undo_takes_it_back(
    bot: Harness, knowledge: Knowledge
) -> None:
    await bot.text(QUESTION, user_id=PATIENT)
    assert bot.request.sent()[-1]["text"].startswith("<b>Sorry, I don't know")
    await bot.text("/gaps", user_id=ADMIN)
    card = bot.request.sent()[-1]
    assert QUESTION in card["text"] and "Asked 1 times" in card["text"]
    add = buttons(card)[0]
    assert add["text"] == f"Add to {knowledge.title('location_hours')}"
    await bot.press(add["callback_data"], user_id=ADMIN, message=card_message(card))
    texts = [p["text"] for p in bot.request.sent()[-2:]]
    assert "Taught: 1 phrasing(s) now belong to <b>Where and when?</b>" in texts[0]
    assert texts[1] == knowledge.message("gaps_done")

    await bot.text(QUESTION, user_id=PATIENT)
    assert bot.request.sent()[-1]["text"] == knowledge.responses["location_hours"].answer

    await bot.text("/learned", user_id=ADMIN)
    listing = bot.request.sent()[-1]
    assert f"1. {QUESTION} \u2192 Where and when?" in listing["text"]
    (undo,) = buttons(listing)
    await bot.press(undo["callback_data"], user_id=ADMIN, message=card_message(listing))
    assert "is no longer taught" in bot.request.sent()[-1]["text"]
    await bot.text(QUESTION, user_id=PATIENT)
    assert bot.request.sent()[-1]["text"].startswith("<b>Sorry, I don't know")
    await bot.press(undo["callback_data"], user_id=ADMIN, message=card_message(listing))
    assert bot.store.learned() == []  # a second Undo: a toast, nothing else


async def test_only_admins_teach(bot: Harness) -> None:
    await bot.text(QUESTION, user_id=PATIENT)
    await bot.text("/gaps", user_id=ADMIN)
    card = bot.request.sent()[-1]
    sent = len(bot.request.sent())
    await bot.press(buttons(card)[0]["callback_data"], user_id=PATIENT, message=card_message(card))
    assert len(bot.request.sent()) == sent  # a toast only
    assert bot.store.learned() == []


def test_safety_questions_and_conflicting_phrasings_are_not_taught(engine: DialogueEngine) -> None:
    assert (
        lesson_problem(engine, "is it safe in pregnancy", "benefits") == "it is a safety question"
    )
    taken = engine.knowledge.intents["pricing"].examples[0].text
    assert lesson_problem(engine, taken, "booking") == "it is already an example of 'pricing'"
    assert (
        lesson_problem(engine, "anything", "no_such_topic") == "there is no topic 'no_such_topic'"
    )
    assert lesson_problem(engine, QUESTION, OUT_OF_SCOPE) is None


def test_the_older_lesson_wins_when_two_disagree(knowledge: Knowledge) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    merged = with_lessons(
        knowledge,
        [Learned(2, QUESTION, OUT_OF_SCOPE, now), Learned(1, QUESTION, "location_hours", now)],
    )
    examples = [e.text for e in merged.intents["location_hours"].examples]
    assert QUESTION in examples and QUESTION not in [e.text for e in merged.out_of_scope]
    assert DialogueEngine(merged).respond(QUESTION).kind is ReplyKind.ANSWER
