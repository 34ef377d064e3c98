"""The clinic teaches its bot from /gaps: one tap and the next such question is answered;
Undo takes it back; safety questions and conflicting phrasings are refused."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.analytics.database_url import Database
from bot.analytics.learning import lesson_problem, teach, with_lessons
from bot.analytics.records import Learned
from bot.analytics.store import EventStore
from bot.content.knowledge import Knowledge
from bot.content.loader import load_knowledge
from bot.engine import DialogueEngine, ReplyKind
from bot.nlu.classifier import OUT_OF_SCOPE
from bot.telegram.context import BotContext
from tests.conftest import copy_shipped_content
from tests.support.events import record_event
from tests.support.harness import Harness, offline_bot
from tests.test_cli import run_bot

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


async def unanswered_then_gaps(bot: Harness) -> dict[str, Any]:
    """A patient's question the bot cannot answer, then an admin's /gaps: its first card."""
    await bot.text(QUESTION, user_id=PATIENT)
    await bot.text("/gaps", user_id=ADMIN)
    return bot.request.sent()[-1]


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


async def test_another_topic_and_an_answer_to_write_later(
    bot: Harness, knowledge: Knowledge
) -> None:
    card = await unanswered_then_gaps(bot)
    labels = [b["text"] for b in buttons(card)]
    assert labels[1:] == ["Another topic…", "Not ours", "Write an answer later", "Skip"]
    await bot.press(buttons(card)[1]["callback_data"], user_id=ADMIN, message=card_message(card))
    menu = bot.request.sent()[-1]
    assert menu["text"] == knowledge.message("gaps_pick_topic")
    visit = buttons(menu)[list(knowledge.categories()).index("Your visit")]
    await bot.press(visit["callback_data"], user_id=ADMIN, message=card_message(menu))
    topics = bot.request.sent("editMessageReplyMarkup")[-1]
    chosen = next(b for b in buttons(topics) if b["text"] == knowledge.title("location_hours"))
    await bot.press(chosen["callback_data"], user_id=ADMIN, message=card_message(menu))
    assert "now belong to <b>Where and when?</b>" in bot.request.sent()[-2]["text"]

    await bot.text("do you sell skincare products", user_id=PATIENT)
    await bot.text("/gaps", user_id=ADMIN)  # what was taught is no gap any more
    card = bot.request.sent()[-1]
    assert "skincare" in card["text"] and QUESTION not in card["text"]
    todo = next(b for b in buttons(card) if b["text"] == "Write an answer later")
    await bot.press(todo["callback_data"], user_id=ADMIN, message=card_message(card))
    await bot.text("/todo", user_id=ADMIN)
    assert "do you sell skincare products (asked 1 times)" in bot.request.sent()[-1]["text"]


async def test_only_admins_teach(bot: Harness) -> None:
    card = await unanswered_then_gaps(bot)
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
    now = datetime.now(UTC)
    merged = with_lessons(
        knowledge,
        [Learned(2, QUESTION, OUT_OF_SCOPE, now), Learned(1, QUESTION, "location_hours", now)],
    )
    examples = [e.text for e in merged.intents["location_hours"].examples]
    assert QUESTION in examples and QUESTION not in [e.text for e in merged.out_of_scope]
    assert DialogueEngine(merged).respond(QUESTION).kind is ReplyKind.ANSWER


def test_export_writes_taught_phrasings_into_the_content_keeping_its_comments(
    tmp_path: Path, knowledge: Knowledge
) -> None:
    content = copy_shipped_content(tmp_path / "content")
    database = tmp_path / "bot.sqlite3"
    with EventStore(database, "s") as store:
        teach(DialogueEngine(knowledge), store, [QUESTION], "location_hours", ADMIN)
        teach(DialogueEngine(knowledge), store, ["what is the wifi password"], OUT_OF_SCOPE)
    visit = content / "intents" / "your_visit.yaml"
    before = visit.read_text().splitlines()
    listed = run_bot("learned", "list", "--database", str(database), "--content", str(content))
    assert (
        listed.returncode == 0 and "location_hours" in listed.stdout and QUESTION in listed.stdout
    )

    exported = run_bot("learned", "export", "--database", str(database), "--content", str(content))
    assert exported.returncode == 0, exported.stderr
    after = visit.read_text().splitlines()
    assert [line for line in after if line not in before] == [f"      - {QUESTION}"]
    assert [line for line in before if line.startswith("#")] == [
        line for line in after if line.startswith("#")
    ]  # comments kept
    assert (
        "  - what is the wifi password" in (content / "intents" / "out_of_scope.yaml").read_text()
    )
    knowledge = load_knowledge(content)  # validates
    assert QUESTION in [e.text for e in knowledge.intents["location_hours"].examples]
    with EventStore(database, "s") as store:
        assert store.learned() == []  # the files are the source of truth again


def test_an_export_that_cannot_write_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A content folder the bot may not write (read-only, or mounted so): a clear message,
    the files untouched and every taught phrasing still in the database."""
    from bot.analytics import learning

    content = copy_shipped_content(tmp_path / "content")
    knowledge = load_knowledge(content)
    visit = content / "intents" / "your_visit.yaml"
    before = visit.read_text()
    lesson = Learned(1, QUESTION, "location_hours", datetime.now(UTC))
    monkeypatch.setattr(learning.os, "access", lambda path, mode: Path(path) != visit)
    with pytest.raises(learning.ExportError, match="not writable, so nothing was exported"):
        learning.export_lessons(knowledge, [lesson], content, allow_uncommitted=True)
    assert visit.read_text() == before


def test_an_export_that_would_break_the_content_puts_the_files_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.analytics import learning

    content = copy_shipped_content(tmp_path / "content")
    knowledge = load_knowledge(content)
    visit = content / "intents" / "your_visit.yaml"
    before = visit.read_text()
    lesson = Learned(1, QUESTION, "location_hours", datetime.now(UTC))
    monkeypatch.setattr(learning, "check_content", lambda folder: (None, ["a problem"]))
    with pytest.raises(learning.ExportError, match=r"would not validate .* put back"):
        learning.export_lessons(knowledge, [lesson], content, allow_uncommitted=True)
    assert visit.read_text() == before


def git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Clinic", "-c", "user.email=clinic@example.org", *args],
        cwd=folder,
        check=True,
        capture_output=True,
    )


def test_an_export_into_files_with_uncommitted_edits_waits_for_them_to_be_committed(
    tmp_path: Path, knowledge: Knowledge
) -> None:
    """The export should be a change of its own, one the clinic can review or revert."""
    content = copy_shipped_content(tmp_path / "content")
    git(content, "init", "-q")
    git(content, "add", ".")
    git(content, "commit", "-q", "-m", "content")
    visit = content / "intents" / "your_visit.yaml"
    visit.write_text(visit.read_text() + "# a note the clinic is still writing\n")
    edited = visit.read_text()
    database = tmp_path / "bot.sqlite3"
    with EventStore(database, "s") as store:
        teach(DialogueEngine(knowledge), store, [QUESTION], "location_hours", ADMIN)
    where = ("--database", str(database), "--content", str(content))

    refused = run_bot("learned", "export", *where)
    assert refused.returncode == 2
    assert "your_visit.yaml has edits not committed to git" in refused.stderr
    assert visit.read_text() == edited
    with EventStore(database, "s") as store:
        assert [lesson.text for lesson in store.learned()] == [QUESTION]  # nothing lost

    git(content, "commit", "-q", "-am", "note")
    exported = run_bot("learned", "export", *where)
    assert exported.returncode == 0, exported.stderr
    assert f"      - {QUESTION}" in visit.read_text()


async def test_two_admins_teaching_one_group_keep_each_phrasing_once(
    knowledge: Knowledge,
) -> None:
    admins = (ADMIN, 9002)
    async with offline_bot(knowledge, admin_ids=frozenset(admins)) as bot:

        async def both_press(label: str) -> None:
            """Both admins open /gaps, then each presses ``label`` on the same group."""
            cards = []
            for admin in admins:
                await bot.text("/gaps", user_id=admin)
                cards.append(bot.request.sent()[-1])
            for card, admin in zip(cards, admins, strict=True):
                button = next(b for b in buttons(card) if b["text"].startswith(label))
                owner = card_message(card) | {"chat": {"id": admin, "type": "private"}}
                await bot.press(button["callback_data"], user_id=admin, message=owner)

        await bot.text(QUESTION, user_id=PATIENT)
        await both_press("Add to")
        assert "now belong to" in bot.request.sent()[-4]["text"]
        assert bot.request.sent()[-2]["text"] == (
            f'Not taught: "{QUESTION}" (it is already known).'
        )
        assert [lesson.text for lesson in bot.store.learned()] == [QUESTION]

        await bot.text("do you sell skincare products", user_id=PATIENT)
        await both_press("Write an answer later")
        assert bot.request.sent()[-2]["text"] == knowledge.message("gaps_todo_listed")
        assert len(bot.store.todos()) == 1
    assert bot.errors == []


def test_gaps_review_in_the_terminal(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    with EventStore(database, "s") as store:
        for text in [QUESTION] * 3 + ["do you sell skincare products"] * 2 + ["what is 2+2"]:
            record_event(store, kind=ReplyKind.FALLBACK, intent_id=None, score=10.0, text=text)
    # Group 1: a wrong number, then Add to its closest topic; group 2: another topic, back,
    # then write an answer later; group 3: not ours.
    choices = "9\n1\n2\n0\n4\n3\n"
    reviewed = run_bot("gaps", "--review", "--database", str(database), stdin=choices)
    assert reviewed.returncode == 0, reviewed.stderr
    out = reviewed.stdout
    assert "Group 1 of 3, asked 3 times, not answered:" in out
    assert "  1. Add to Where and when?" in out and "  6. Stop reviewing" in out
    assert "Type a number from 1 to 6." in out
    assert "Your choice: 9\n" in out  # piped answers are echoed
    assert 'Taught: 1 phrasing(s) as "Where and when?".' in out
    assert "Noted on /todo" in out
    assert "Done: 2 phrasing(s) taught, 0 refused, 1 group(s) put on the to-do list" in out
    with EventStore(database, "s") as store:
        assert {(lesson.text, lesson.intent_id) for lesson in store.learned()} == {
            (QUESTION, "location_hours"),
            ("what is 2+2", OUT_OF_SCOPE),
        }
        assert store.todos() == [(["do you sell skincare products"], 2)]

    again = run_bot("gaps", "--database", str(database))
    assert QUESTION not in again.stdout  # what was taught is no gap any more


async def test_a_group_taught_after_the_daily_purge_gets_a_toast_and_nothing_is_kept(
    bot: Harness, knowledge: Knowledge
) -> None:
    """The purge clears the review with the patients' words it holds: its buttons are stale."""
    from bot.telegram.admin import on_retention_purge

    card = await unanswered_then_gaps(bot)
    await on_retention_purge(BotContext(bot.application))
    sent = len(bot.request.sent())
    await bot.press(buttons(card)[0]["callback_data"], user_id=ADMIN, message=card_message(card))
    toast = bot.request.sent("answerCallbackQuery")[-1]
    assert toast["text"] == knowledge.message("stale_button").strip()[:200]
    assert len(bot.request.sent()) == sent  # the toast, no message
    assert bot.store.learned() == []


def test_a_lesson_that_the_content_now_contradicts_gives_way_to_the_content(
    tmp_path: Path, knowledge: Knowledge
) -> None:
    """The clinic wrote the phrasing into another topic's examples since it was taught: the
    files are the source of truth, so the matcher follows them and export drops the lesson."""
    taken = knowledge.intents["pricing"].examples[0].text
    lesson = Learned(1, taken, "booking", datetime.now(UTC))
    merged = with_lessons(knowledge, [lesson])
    assert taken not in [e.text for e in merged.intents["booking"].examples]
    assert DialogueEngine(merged).respond(taken).answered_intent == "pricing"

    from bot.analytics.learning import export_lessons

    content = copy_shipped_content(tmp_path / "content")
    before = {path: path.read_text() for path in (content / "intents").glob("*.yaml")}
    assert export_lessons(load_knowledge(content), [lesson], content, False) == [1]
    assert {path: path.read_text() for path in before} == before  # nothing written


async def test_what_one_worker_learns_or_reloads_reaches_the_others(
    tmp_path: Path, database: Database
) -> None:
    """Two workers on one database and one content folder: a lesson taught on the first,
    then a /reload of edited content on the first, are followed by the second."""
    from bot.telegram.teaching import follow_changes

    content = copy_shipped_content(tmp_path / "content")
    knowledge = load_knowledge(content)
    settings = {"admin_ids": frozenset({ADMIN}), "content_dir": content}
    async with (
        offline_bot(knowledge, EventStore(database, "test"), **settings) as first,
        offline_bot(knowledge, EventStore(database, "test"), **settings) as second,
    ):
        second._ids = itertools.count(100_000)  # one bot's update ids, whichever worker
        await second.text(QUESTION, user_id=PATIENT)
        await second.application.bot_data.database.flush()
        await first.text("/gaps", user_id=ADMIN)  # the second worker's question, shared
        card = first.request.sent()[-1]
        await first.press(
            buttons(card)[0]["callback_data"], user_id=ADMIN, message=card_message(card)
        )
        await follow_changes(BotContext(second.application))
        await second.text(QUESTION, user_id=PATIENT)
        assert second.request.sent()[-1]["text"] == knowledge.responses["location_hours"].answer

        pricing = content / "responses" / "your_visit.yaml"
        new_answer = "Prices changed today."
        old_answer = knowledge.responses["pricing"].answer
        text = pricing.read_text()
        assert old_answer.splitlines()[0] in text
        pricing.write_text(text.replace(old_answer.splitlines()[0], new_answer, 1))
        await first.text("/reload", user_id=ADMIN)
        await follow_changes(BotContext(second.application))
        await second.text("how much is a session", user_id=PATIENT)
        assert new_answer in second.request.sent()[-1]["text"]
    assert first.errors == [] and second.errors == []
