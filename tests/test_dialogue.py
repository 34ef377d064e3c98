"""The dialogue decision: answer, ask back, fall back, safety first, small talk."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.content.loader import load_knowledge
from bot.engine import DialogueEngine, ReplyKind


def test_confident_match_gives_answer_and_follow_ups(engine: DialogueEngine) -> None:
    reply = engine.respond("does it hurt")
    assert reply.kind is ReplyKind.ANSWER
    assert reply.text == engine.knowledge.responses["does_it_hurt"].answer
    follow_ups = [s.intent_id for s in reply.suggestions]
    assert follow_ups == list(engine.knowledge.responses["does_it_hurt"].follow_ups)
    assert all(s.label == engine.knowledge.title(s.intent_id) for s in reply.suggestions)


def test_close_candidates_are_offered_as_a_choice(tiny_content: Path) -> None:
    settings = tiny_content / "clinic.yaml"
    # The clinic's overrides: answer only when nearly sure, ask back from low confidence.
    settings.write_text(
        settings.read_text()
        .replace("answer_threshold: 60", "answer_threshold: 99")
        .replace("clarify_threshold: 50", "clarify_threshold: 5")
    )
    engine = DialogueEngine(load_knowledge(tiny_content))
    reply = engine.respond("hurt price")
    assert reply.kind is ReplyKind.CLARIFY
    assert reply.text == "Did you mean one of these?"
    assert {s.intent_id for s in reply.suggestions} == {"does_it_hurt", "pricing"}
    assert reply.answered_intent is None


def test_unknown_question_gets_honest_fallback_with_popular_topics(engine: DialogueEngine) -> None:
    reply = engine.respond("who won the football last night")
    assert reply.kind is ReplyKind.FALLBACK
    assert reply.text == engine.knowledge.message("fallback")
    assert [s.intent_id for s in reply.suggestions] == list(engine.knowledge.popular_topics)
    assert engine.knowledge.settings["clinic"]["phone"] in reply.text


@pytest.mark.parametrize("word", ["treatment", "clinic"])
def test_one_word_no_topic_claims_is_asked_back(engine: DialogueEngine, word: str) -> None:
    """Every topic scores below zero: the winner wins by default, however confident."""
    reply = engine.respond(word)
    assert reply.kind is ReplyKind.CLARIFY
    assert reply.candidates[0].score >= engine.thresholds.answer


def test_two_word_query_is_judged_by_its_confidence(engine: DialogueEngine) -> None:
    reply = engine.respond("consultation offered?")
    assert reply.candidates[0].signals is not None
    assert reply.candidates[0].signals.top < 0  # no topic claims it outright
    assert reply.answered_intent == "first_visit"


def test_filler_words_around_one_topic_word_make_a_question(engine: DialogueEngine) -> None:
    """Not a keyword query: every word counts, filler too."""
    reply = engine.respond("would it be ok for everyone")
    assert reply.candidates[0].signals is not None
    assert reply.candidates[0].signals.top < 0
    assert reply.answered_intent == "contraindications"


def test_out_of_scope_example_beats_a_shared_word(tiny_content: Path) -> None:
    engine = DialogueEngine(load_knowledge(tiny_content))
    assert engine.respond("does a tattoo hurt").kind is ReplyKind.FALLBACK
    assert engine.respond("does it hurt").answered_intent == "does_it_hurt"


@pytest.mark.parametrize(
    "question",
    [
        "can I have facial acupuncture while pregnant?",
        "i'm on blood thinners, is that ok",
        "I have a bleeding disorder",
        "is it safe with a pacemaker",
        "I've got cheek implants",
        "I have an active skin infection on my chin",
        "severe pain in my cheek since the session",
        "my face swelled up after treatment",
        "the bleeding won't stop after my session",
        "does it hurt? I'm 10 weeks pregnant",  # safety wins over a confident match
    ],
)
def test_safety_questions_get_the_safety_answer(engine: DialogueEngine, question: str) -> None:
    reply = engine.respond(question)
    assert reply.kind is ReplyKind.SAFETY
    assert reply.text == engine.knowledge.message("safety")
    assert "contact_human" in {s.intent_id for s in reply.suggestions}


def test_ordinary_side_effect_question_is_not_a_safety_alarm(engine: DialogueEngine) -> None:
    assert engine.respond("is a little swelling normal afterwards?").kind is not ReplyKind.SAFETY
    assert engine.respond("can I get an infection from the needles?").kind is not ReplyKind.SAFETY


@pytest.mark.parametrize(
    ("text", "intent_id"), [("hello!", "greeting"), ("thanks a lot", "thanks"), ("bye", "goodbye")]
)
def test_small_talk(engine: DialogueEngine, text: str, intent_id: str) -> None:
    reply = engine.respond(text)
    assert reply.kind is ReplyKind.SMALLTALK
    assert reply.intent_id == intent_id


def test_welcome_offers_popular_topics(engine: DialogueEngine) -> None:
    reply = engine.welcome()
    assert reply.text == engine.knowledge.message("welcome")
    assert [s.intent_id for s in reply.suggestions] == list(engine.knowledge.popular_topics)
