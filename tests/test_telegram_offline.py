"""The Telegram front end through PTB's real Application, offline."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.analytics.database_url import Database
from bot.analytics.store import EventStore
from bot.content.html_text import plain_text
from bot.content.knowledge import Knowledge
from bot.engine import DialogueEngine
from bot.telegram import inbox, keyboards, retrying_request
from bot.telegram.handlers import help_text
from tests.support.harness import BOT, GROUP, Harness, message_dict, offline_bot


@pytest.fixture
async def bot(knowledge: Knowledge) -> AsyncIterator[Harness]:
    async with offline_bot(knowledge) as harness:
        yield harness
    assert harness.errors == []


def buttons(params: dict[str, Any]) -> list[dict[str, Any]]:
    markup = params.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def callback_data(params: dict[str, Any]) -> list[str]:
    return [b["callback_data"] for b in buttons(params) if "callback_data" in b]


async def test_start_welcomes_with_popular_topics(bot: Harness, knowledge: Knowledge) -> None:
    await bot.text("/start")
    (sent,) = bot.request.sent()
    assert sent["text"] == knowledge.message("welcome")
    assert sent["parse_mode"] == "HTML"
    assert sent["link_preview_options"] == {"is_disabled": True}
    assert callback_data(sent) == [keyboards.Answer(i).pack() for i in knowledge.popular_topics]


@pytest.mark.parametrize("payload", ["does_it_hurt", "does_it_hurt-post12"])
async def test_deep_link_answers_its_topic(
    bot: Harness, knowledge: Knowledge, payload: str
) -> None:
    await bot.text(f"/start {payload}")
    (sent,) = bot.request.sent()
    assert sent["text"] == knowledge.responses["does_it_hurt"].answer


@pytest.mark.parametrize("payload", ["no_such_topic", "%%%", "x" * 64])
async def test_unknown_deep_link_falls_back_to_welcome(
    bot: Harness, knowledge: Knowledge, payload: str
) -> None:
    await bot.text(f"/start {payload}")
    (sent,) = bot.request.sent()
    assert sent["text"] == knowledge.message("welcome")


async def test_question_with_typos_gets_answer_follow_ups_and_booking(
    bot: Harness, knowledge: Knowledge
) -> None:
    await bot.text("does acupunture hurt??")
    (sent,) = bot.request.sent()
    assert sent["text"] == knowledge.responses["does_it_hurt"].answer
    follow_ups = knowledge.responses["does_it_hurt"].follow_ups
    rows = sent["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in rows[: len(follow_ups)]] == [
        keyboards.Answer(i).pack() for i in follow_ups
    ]
    assert all(len(data.encode()) <= 64 for data in callback_data(sent))
    booking = {
        "text": knowledge.message("book_button"),
        "url": knowledge.settings["clinic"]["booking_url"],
    }
    assert rows[-2] == [booking]
    assert [b["text"] for b in rows[-1]] == [
        knowledge.message("feedback_yes"),
        knowledge.message("feedback_no"),
    ]


async def test_button_press_is_answered_and_sends_a_new_message(
    bot: Harness, knowledge: Knowledge
) -> None:
    await bot.press("a:side_effects")
    assert len(bot.request.sent("answerCallbackQuery")) == 1
    (sent,) = bot.request.sent()
    assert sent["text"] == knowledge.responses["side_effects"].answer
    assert bot.request.sent("editMessageText") == []


async def test_clarify_offers_candidates_and_none_of_these(
    bot: Harness, engine: DialogueEngine, knowledge: Knowledge
) -> None:
    question = "treatment"
    reply = engine.respond(question)
    assert reply.kind.value == "clarify"  # precondition on the shipped content
    await bot.text(question)
    (sent,) = bot.request.sent()
    assert sent["text"] == knowledge.message("clarify")
    assert callback_data(sent) == [
        keyboards.Answer(s.intent_id).pack() for s in reply.suggestions
    ] + ["n"]
    await bot.press("n")
    fallback = bot.request.sent()[-1]
    assert fallback["text"] == knowledge.message("fallback")
    assert "t" in callback_data(fallback)


async def test_unknown_question_gets_fallback_with_topics_and_contact(
    bot: Harness, knowledge: Knowledge
) -> None:
    await bot.text("who won the match last night?")
    (sent,) = bot.request.sent()
    assert sent["text"] == knowledge.message("fallback")
    assert knowledge.settings["clinic"]["phone"] in sent["text"]
    assert callback_data(sent)[-1] == "t"


@pytest.mark.parametrize("data", ["a:no_such_topic", "zz", "t:99", "", "a:" + "x" * 60])
async def test_stale_or_unknown_button_gets_a_polite_toast(
    bot: Harness, knowledge: Knowledge, data: str
) -> None:
    await bot.press(data)
    (answer,) = bot.request.sent("answerCallbackQuery")
    assert answer["text"] == plain_text(knowledge.message("stale_button")).strip()
    assert bot.request.sent() == []


async def test_topics_menu_navigates_by_editing_the_same_message(
    bot: Harness, knowledge: Knowledge
) -> None:
    await bot.text("/topics")
    (menu,) = bot.request.sent()
    categories = list(knowledge.categories())
    assert [b["text"] for b in buttons(menu)] == categories
    menu_message = {
        "message_id": 4001,
        "date": 0,
        "chat": {"id": 42, "type": "private"},
        "from": BOT,
        "text": "menu",
    }
    await bot.press("t:1", message=menu_message)
    (edit,) = bot.request.sent("editMessageText")
    assert edit["message_id"] == 4001
    names = [b["text"] for b in buttons(edit)]
    assert names[:-1] == [knowledge.title(i) for i in knowledge.categories()[categories[1]]]
    assert names[-1] == knowledge.message("back")
    await bot.press("t", message=menu_message)
    back = bot.request.sent("editMessageText")[-1]
    assert [b["text"] for b in buttons(back)] == categories
    assert len(bot.request.sent("answerCallbackQuery")) == 2


async def test_help_book_and_privacy(bot: Harness, knowledge: Knowledge) -> None:
    await bot.text("/help")
    await bot.text("/book")
    await bot.text("/privacy")
    help_message, book, privacy = bot.request.sent()
    assert help_message["text"] == help_text(knowledge)
    for intent_id in knowledge.categories()["Safety"]:
        assert knowledge.title(intent_id) in help_message["text"]
    assert book["text"] == knowledge.message("book")
    assert buttons(book) == [
        {
            "text": knowledge.message("book_button"),
            "url": knowledge.settings["clinic"]["booking_url"],
        }
    ]
    assert privacy["text"] == knowledge.message("privacy").replace("{retention_days}", "90")
    assert "90 days" in privacy["text"]


async def test_inline_query_returns_answers_with_deep_link_buttons(
    bot: Harness, knowledge: Knowledge
) -> None:
    await bot.inline("does it hurt")
    (answer,) = bot.request.sent("answerInlineQuery")
    results = answer["results"]
    assert 1 <= len(results) <= 10
    first = results[0]
    assert first["id"] == "does_it_hurt"
    assert first["title"] == knowledge.title("does_it_hurt")
    assert (
        first["input_message_content"]["message_text"] == knowledge.responses["does_it_hurt"].answer
    )
    (button,) = buttons(first)
    assert button["url"] == f"https://t.me/{BOT['username']}?start=does_it_hurt-inline"


async def test_empty_inline_query_offers_popular_topics(bot: Harness, knowledge: Knowledge) -> None:
    await bot.inline("")
    (answer,) = bot.request.sent("answerInlineQuery")
    assert [r["id"] for r in answer["results"]] == list(knowledge.popular_topics)


async def test_group_message_without_mention_is_ignored(bot: Harness) -> None:
    await bot.text("does it hurt?", chat=GROUP)
    assert bot.request.sent() == []


async def test_group_mention_is_answered_as_a_reply(bot: Harness, knowledge: Knowledge) -> None:
    await bot.text("@clinic_faq_bot does it hurt?", chat=GROUP, message_id=77)
    (sent,) = bot.request.sent()
    assert sent["text"] == knowledge.responses["does_it_hurt"].answer
    assert sent["reply_parameters"]["message_id"] == 77


async def test_group_reply_to_the_bot_is_answered(bot: Harness, knowledge: Knowledge) -> None:
    bot_message = {"message_id": 5, "date": 0, "chat": GROUP, "from": BOT, "text": "earlier answer"}
    await bot.text("and how much is it?", chat=GROUP, reply_to_message=bot_message, message_id=78)
    (sent,) = bot.request.sent()
    assert sent["text"] == knowledge.responses["pricing"].answer
    assert sent["reply_parameters"]["message_id"] == 78


async def test_group_command_addressed_to_the_bot(bot: Harness, knowledge: Knowledge) -> None:
    await bot.text("/help@clinic_faq_bot", chat=GROUP)
    await bot.text("/help@some_other_bot", chat=GROUP)
    (sent,) = bot.request.sent()
    assert sent["text"] == help_text(knowledge)


@pytest.mark.parametrize(
    "content",
    [
        {"photo": [{"file_id": "p", "file_unique_id": "p", "width": 10, "height": 10}]},
        {
            "sticker": {
                "file_id": "s",
                "file_unique_id": "s",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            }
        },
        {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 2}},
        {"location": {"latitude": 51.5, "longitude": -0.1}},
    ],
)
async def test_media_gets_a_text_only_reply(
    bot: Harness, knowledge: Knowledge, content: dict[str, Any]
) -> None:
    message = message_dict("")
    del message["text"]
    await bot.send({"message": {**message, **content}})
    (sent,) = bot.request.sent()
    assert sent["text"] == knowledge.message("unsupported_media")


async def test_edited_messages_are_not_answered_again(bot: Harness) -> None:
    await bot.send({"edited_message": {**message_dict("does it hurt?"), "edit_date": 1}})
    assert bot.request.sent() == []


@pytest.mark.parametrize("command", ["/start pricing", "/help", "/forget", "/human"])
async def test_edited_commands_do_not_run_again(bot: Harness, command: str) -> None:
    """Fixing a typo in a sent command is not a second request (the README promises so)."""
    await bot.send({"edited_message": {**message_dict(command), "edit_date": 1}})
    assert bot.request.sent() == []


async def test_html_like_text_and_very_long_text_are_answered_safely(bot: Harness) -> None:
    await bot.text("<b>hi & does it hurt")
    await bot.text("does it hurt? " + "blah " * 1000)
    assert len(bot.request.sent()) == 2  # the recording layer rejects any invalid HTML


async def test_weird_updates_are_ignored(bot: Harness) -> None:
    await bot.send(
        {
            "poll": {
                "id": "1",
                "question": "?",
                "options": [],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
                "allows_revoting": False,
                "members_only": False,
            }
        }
    )
    await bot.send({})  # an update type this PTB version does not know
    await bot.send(
        {
            "channel_post": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": -1001, "type": "channel", "title": "c"},
                "text": "hello",
            }
        }
    )
    assert bot.request.sent() == []


async def test_error_in_one_update_is_logged_without_text_and_the_bot_goes_on(
    knowledge: Knowledge, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "my private symptom description"
    async with offline_bot(knowledge) as bot:
        bot.request.fail_methods.add("sendMessage")
        with caplog.at_level(logging.DEBUG):
            await bot.text(f"does it hurt? {secret}")
        assert len(bot.errors) >= 1
        bot.request.fail_methods.clear()
        bot.errors.clear()
        await bot.text("how much is it?")
        assert bot.request.sent()[-1]["text"] == knowledge.responses["pricing"].answer
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)
    assert all(secret not in r.getMessage() for r in caplog.records)


async def test_command_menu_is_set_for_private_and_group_chats(
    bot: Harness, knowledge: Knowledge
) -> None:
    post_init = bot.application.post_init
    assert post_init is not None
    await post_init(bot.application)
    private, group = bot.request.sent("setMyCommands")
    assert private["scope"] == {"type": "all_private_chats"}
    assert [c["command"] for c in private["commands"]] == list(knowledge.commands)
    assert group["scope"] == {"type": "all_group_chats"}


async def test_a_passing_telegram_fault_does_not_cost_the_answer(
    bot: Harness, knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two 502s in a row: the answer still arrives, once, and no apology is sent."""
    monkeypatch.setattr(retrying_request, "FIRST_PAUSE", 0.01)
    bot.request.bad_gateway["sendMessage"] = 2
    await bot.text("does it hurt?")
    answer = knowledge.responses["does_it_hurt"].answer
    # Three attempts of the same answer (the first two got a 502), so exactly one arrived.
    assert [p["text"] for p in bot.request.sent()] == [answer] * 3
    assert bot.errors == []  # no apology: the error handler never ran


async def test_a_lasting_fault_ends_in_the_error_handler_not_a_crash(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retrying_request, "FIRST_PAUSE", 0.01)
    bot.request.bad_gateway["sendMessage"] = 10
    await bot.text("does it hurt?")
    attempts = [c for c in bot.request.calls if c.method == "sendMessage"]
    assert len(attempts) >= retrying_request.ATTEMPTS  # tried, bounded, then given up
    assert [type(e).__name__ for e in bot.errors] == ["NetworkError"]  # to the error handler
    bot.errors.clear()
    bot.request.bad_gateway.clear()
    await bot.text("how much is it?")  # the bot carries on
    assert bot.request.sent()[-1]["text"]


async def test_an_update_delivered_twice_is_answered_once(bot: Harness) -> None:
    """Telegram retries a webhook it thinks failed; a replay after a crash may meet a
    redelivery. The same update_id is handled once."""
    update = {"update_id": 777, "message": message_dict("does it hurt?")}
    await bot.application.process_update(Update.de_json(update, bot.application.bot))
    await bot.application.process_update(Update.de_json(update, bot.application.bot))
    assert len(bot.request.sent()) == 1


async def test_a_redelivery_is_answered_once_however_long_ago_or_whichever_process_took_it(
    knowledge: Knowledge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new update skips the inbox read (one worker: nobody else can have handled it); an
    earlier one, handled by this process long ago or by the process before a restart, is
    still recognised."""
    database = Database.sqlite(tmp_path / "bot.sqlite3")
    monkeypatch.setattr(inbox, "TAKEN_LIMIT", 2)  # this process soon forgets what it took

    def update(update_id: int, text: str) -> dict[str, Any]:
        return {"update_id": update_id, "message": message_dict(text)}

    async with offline_bot(knowledge, EventStore(database, "test")) as first:
        for update_id in (500, 501, 502, 503):
            await first.send(update(update_id, "does it hurt?"))
        await first.send(update(500, "does it hurt?"))  # no longer remembered in memory
        assert len(first.request.sent()) == 4
    async with offline_bot(knowledge, EventStore(database, "test")) as second:  # a restart
        await second.send(update(502, "does it hurt?"))  # redelivered: handled before
        assert second.request.sent() == []
        await second.send(update(504, "how much is it?"))  # new
        assert len(second.request.sent()) == 1
