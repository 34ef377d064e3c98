"""The matcher learned from the content: what a patient notices, and what a clinic relies on
(thresholds from its own content, a cache that makes restarts fast, any content loads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.content.loader import check_content, load_knowledge
from bot.content.problems import Severity
from bot.engine import DialogueEngine, FallbackReason, ReplyKind
from bot.nlu.features import CountMatrix, raw_features
from bot.nlu.normalizer import TextNormalizer
from bot.nlu.units import question_units
from tests.conftest import copy_shipped_content


@pytest.mark.parametrize(
    "question",
    [
        "how much is it and does it hurt?",
        "How much is a first session? And does it hurt?",
    ],
)
def test_two_questions_get_both_answers(engine: DialogueEngine, question: str) -> None:
    reply = engine.respond(question)
    assert reply.kind is ReplyKind.ANSWER
    assert {reply.intent_id, *reply.also} == {"pricing", "does_it_hurt"}
    for intent_id in ("pricing", "does_it_hurt"):
        assert engine.knowledge.title(intent_id) in reply.text  # each under its title
    assert not {"pricing", "does_it_hurt"} & {s.intent_id for s in reply.suggestions}


def test_one_question_gets_one_answer(engine: DialogueEngine) -> None:
    reply = engine.respond("how much does a session cost")
    assert (reply.intent_id, reply.also) == ("pricing", ())
    assert reply.text == engine.knowledge.responses["pricing"].answer


@pytest.mark.parametrize(
    ("question", "intent_id"),
    [
        ("how much is it in GBP", "pricing"),  # a harmless extra word
        ("hi Dr Chen does it hurt", "does_it_hurt"),
        ("yo how much u charge", "pricing"),  # small talk never beats a real topic
        ("how many treatments wil i need", "how_many_sessions"),
        ("what side effects can the facial treatment have?", "side_effects"),
        ("hey assistant", "greeting"),
        ("morning, robot", "greeting"),
        (
            "I'm 52 and my skin has lost some bounce lately. A friend swears by it. "
            "How many sessions would I need?",
            "how_many_sessions",
        ),
    ],
)
def test_answers_what_people_type(engine: DialogueEngine, question: str, intent_id: str) -> None:
    assert engine.respond(question).answered_intent == intent_id


@pytest.mark.parametrize(
    "question",
    [
        "my dog is at the vet getting acupuncture, does it hurt him",
        "how do I become an acupuncturist",
        "can you recommend a good dentist nearby",
    ],
)
def test_not_ours_is_not_answered(engine: DialogueEngine, question: str) -> None:
    reply = engine.respond(question)
    assert reply.answered_intent is None, reply.candidates[:2]


def test_treatment_we_do_not_offer_gets_an_honest_reply(engine: DialogueEngine) -> None:
    reply = engine.respond("can I book a chemical peel")
    assert (reply.kind, reply.reason) == (ReplyKind.FALLBACK, FallbackReason.NOT_OFFERED)
    assert reply.text == engine.knowledge.message("not_offered")
    assert reply.answered_intent is None


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("¿cuánto cuesta una sesión de acupuntura facial?", "es"),
        ("Wie viel kostet eine Behandlung?", "de"),
        ("сколько стоит сеанс?", "ru"),
        ("針灸一次多少钱", "zh"),
    ],
)
def test_other_languages_are_told_we_answer_in_english(
    engine: DialogueEngine, question: str, language: str
) -> None:
    reply = engine.respond(question)
    assert (reply.reason, reply.language) == (FallbackReason.OTHER_LANGUAGE, language)
    assert reply.text.startswith(engine.knowledge.message(f"other_language_{language}"))
    assert engine.knowledge.message("other_language") in reply.text


@pytest.mark.parametrize(
    "question",
    [
        "",
        "   \n\t ",
        "acupuncture " * 372,  # 4,092 characters of one word
        "😀😀😀",
        "qi 気 ци",
        "https://example.org/facial?x=1",
        "12345",
        "?!?!",
    ],
)
def test_odd_input_gets_a_reply(engine: DialogueEngine, question: str) -> None:
    reply = engine.respond(question)
    assert reply.text.strip()


def test_typo_and_english_slang_is_never_taken_for_another_language(
    engine: DialogueEngine,
) -> None:
    for question in ("hw much", "wat r ur hours", "acupunture prise", "gd mornin"):
        assert engine.respond(question).reason is not FallbackReason.OTHER_LANGUAGE


def test_thresholds_are_calibrated_from_the_content(engine: DialogueEngine) -> None:
    thresholds = engine.thresholds
    assert 30 <= thresholds.answer <= 95
    assert 10 <= thresholds.clarify <= thresholds.answer
    assert engine.classifier.calibration.held_out > 1000  # every example held out once
    assert thresholds.answer == pytest.approx(thresholds.calibrated_answer, abs=0.05)


def test_clinic_can_override_the_thresholds(tmp_path: Path) -> None:
    content = copy_shipped_content(tmp_path / "content")
    settings = content / "clinic.yaml"
    settings.write_text(
        settings.read_text().replace("  # answer_threshold: 70", "  answer_threshold: 99")
    )
    engine = DialogueEngine(load_knowledge(content))
    assert engine.thresholds.answer == 99
    question = "would the needles be sore at all"
    assert engine.thresholds.calibrated_answer <= engine.rank(question)[0].score < 99
    assert engine.respond(question).kind is ReplyKind.CLARIFY  # answered without the override


def test_the_cached_model_gives_the_same_answers(tmp_path: Path, knowledge: object) -> None:
    from bot.content.knowledge import Knowledge

    assert isinstance(knowledge, Knowledge)
    first = DialogueEngine(knowledge, cache_dir=tmp_path)
    (cached,) = tmp_path.glob("*.npz")
    second = DialogueEngine(knowledge, cache_dir=tmp_path)
    for question in ("does it hurt", "how much", "bitcoin price", "what is qi?"):
        assert first.rank(question) == second.rank(question)
    assert second.thresholds == first.thresholds

    cached.write_bytes(b"not a model")  # a damaged cache is retrained, not a crash
    third = DialogueEngine(knowledge, cache_dir=tmp_path)
    assert third.rank("does it hurt")[0].intent_id == "does_it_hurt"


def test_features_of_one_question_equal_the_training_matrix(knowledge: object) -> None:
    """Training (sparse, many rows) and prediction (one question) use one TF-IDF formula."""
    normalizer = TextNormalizer({}, [])
    texts = ["does it hurt", "how much is a session?", "Acupunture for wrinkles", "qi"]
    documents = [raw_features(t, normalizer.canonical_tokens(t)) for t in texts]
    space, matrix = CountMatrix.build(documents).tfidf()
    for row, text in enumerate(texts):
        index, values = space.text_vector(text, normalizer.canonical_tokens(text))
        dense = np.zeros(space.size, np.float32)
        dense[index] = values
        assert np.allclose(dense, matrix[row].toarray().ravel(), atol=1e-6)


def test_content_with_few_examples_loads_with_a_warning(tiny_content: Path) -> None:
    knowledge, problems = check_content(tiny_content)
    assert knowledge is not None  # two examples an intent still make a working bot
    warnings = [p for p in problems if p.severity is Severity.WARNING]
    assert any("calibration" in p.message and p.intent_id == "pricing" for p in warnings)
    engine = DialogueEngine(knowledge)
    assert engine.respond("does it hurt").answered_intent == "does_it_hurt"
    assert "fixed thresholds" in " ".join(engine.classifier.calibration.notes)


@pytest.mark.parametrize(
    ("text", "units", "story"),
    [
        ("what is qi", ["what is qi"], False),
        ("how much is it and does it hurt?", ["how much is it", "does it hurt?"], False),
        (
            "How much is it/ does insurance cover it?",
            ["How much is it", "does insurance cover it?"],
            False,
        ),
        ("hi, does it hurt", ["hi, does it hurt"], False),  # a greeting is not a question
        (
            "I'm 50, how many sessions would I need?",
            ["I'm 50, how many sessions would I need?"],
            False,
        ),
        (
            "My skin is dull. A friend loves it. Would it help me?",
            ["A friend loves it. Would it help me?"],  # the question with the sentence before
            True,
        ),
        ("I want to book. Thursday works.", ["I want to book.", "Thursday works."], False),
    ],
)
def test_questions_are_found_in_a_message(text: str, units: list[str], story: bool) -> None:
    assert question_units(text) == (units, story)
