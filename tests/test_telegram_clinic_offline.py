"""The clinic's tools through the real Application, offline: feedback, handoff, channel
posts, discussion replies, admin commands, /forget."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.analytics.database_url import Database
from bot.analytics.records import Source
from bot.analytics.store import EventStore
from bot.content.html_text import plain_text
from bot.content.knowledge import Knowledge
from bot.telegram.admin import on_weekly_digest
from bot.telegram.application import check_staff_chat
from bot.telegram.context import BotContext
from tests.conftest import copy_shipped_content
from tests.support.events import record_event
from tests.support.harness import BOT, DISCUSSION, GROUP, STAFF, Harness, offline_bot

ADMIN = 900


@pytest.fixture
async def bot(knowledge: Knowledge, tmp_path: Path) -> AsyncIterator[Harness]:
    async with offline_bot(
        knowledge,
        admin_ids=frozenset({ADMIN}),
        staff_chat_id=STAFF["id"],
        channel_id="@clinic_news",
    ) as harness:
        harness.application.bot_data.content_dir = copy_shipped_content(tmp_path / "content")
        yield harness
    assert harness.errors == []


def buttons(params: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in (params.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


async def test_answers_are_recorded_and_feedback_is_stored(
    bot: Harness, knowledge: Knowledge
) -> None:
    await bot.text("how long is a session?")
    answer = bot.request.sent()[-1]
    vote = next(
        b["callback_data"] for b in buttons(answer) if b.get("callback_data", "").endswith(":y")
    )
    message = {
        "message_id": 3,
        "date": 0,
        "chat": {"id": 42, "type": "private"},
        "from": BOT,
        "text": "x",
        "reply_markup": answer["reply_markup"],
    }
    await bot.press(vote, message=message)
    (toast,) = bot.request.sent("answerCallbackQuery")
    assert toast["text"] == knowledge.message("feedback_thanks")
    (edit,) = bot.request.sent("editMessageReplyMarkup")
    assert not any(b.get("callback_data", "").startswith("f:") for b in buttons(edit))
    stats = bot.store.stats(7)
    assert (stats.answered, stats.helpful_yes) == (1, 1)

    # A double tap (the second press arrives before the buttons are gone): one vote counts,
    # and the second press is told so rather than thanked again.
    no = vote.replace(":y", ":n")
    await bot.press(no, message=message)
    toast = bot.request.sent("answerCallbackQuery")[-1]
    assert toast["text"] == knowledge.message("feedback_already")
    stats = bot.store.stats(7)
    assert (stats.helpful_yes, stats.helpful_no) == (1, 0)


async def test_someone_elses_vote_is_refused(bot: Harness, knowledge: Knowledge) -> None:
    event = record_event(bot.store, score=90)
    await bot.press(f"f:{event}:y", user_id=2)
    (toast,) = bot.request.sent("answerCallbackQuery")
    assert toast["text"] == knowledge.message("stale_button").strip()
    assert bot.store.stats(7).helpful_yes == 0


async def test_unanswered_question_is_stored_redacted_and_offers_a_person(
    bot: Harness, knowledge: Knowledge
) -> None:
    await bot.text("can I bring my dog along? call me on 07700 900123")
    fallback = bot.request.sent()[-1]
    assert fallback["text"] == knowledge.message("fallback")
    assert buttons(fallback)[-1] == {
        "text": knowledge.message("human_button"),
        "callback_data": "h",
    }
    assert bot.store.unanswered(30) == ["can I bring my dog along? call me on [phone]"]


async def test_handoff_sends_the_last_question_to_staff_and_relays_the_reply(
    bot: Harness, knowledge: Knowledge
) -> None:
    await bot.text("can I bring my dog <3 & my cat?")
    await bot.press("h")
    confirm = bot.request.sent()[-1]
    assert "can I bring my dog &lt;3 &amp; my cat?" in confirm["text"]
    await bot.press("h:send")
    (to_staff,) = [
        c
        for c in bot.request.calls
        if c.method == "sendMessage" and c.params["chat_id"] == STAFF["id"]
    ]
    assert (
        "Question from Ana" in to_staff.params["text"]
        and "&lt;3 &amp; my cat" in to_staff.params["text"]
    )
    staff_message = _bot_message_in(STAFF, bot, to_staff.params["text"])
    await bot.text(
        "Yes, dogs are welcome <3", user_id=7, chat=STAFF, reply_to_message=staff_message
    )
    relay = [p for p in bot.request.sent() if p["chat_id"] == 42][-1]
    assert "Yes, dogs are welcome &lt;3" in relay["text"]
    assert bot.request.sent()[-1]["text"] == knowledge.message("staff_relayed")

    # The patient asks to be forgotten: a later staff reply is not lost in silence.
    await bot.text("/forget")
    await bot.text("One more thing!", user_id=7, chat=STAFF, reply_to_message=staff_message)
    assert bot.request.sent()[-1]["text"] == knowledge.message("staff_relay_forgotten")
    # ... while staff replying to each other is none of the bot's business.
    colleague = {
        "message_id": 9,
        "date": 0,
        "chat": STAFF,
        "from": {"id": 8, "is_bot": False, "first_name": "Kim"},
        "text": "lunch?",
    }
    before = len(bot.request.sent())
    await bot.text("yes!", user_id=7, chat=STAFF, reply_to_message=colleague)
    assert len(bot.request.sent()) == before


async def test_human_with_a_question_sends_it(bot: Harness) -> None:
    await bot.text("/human can I bring my baby to the appointment?")
    to_staff = [p for p in bot.request.sent() if p["chat_id"] == STAFF["id"]]
    assert len(to_staff) == 1 and "can I bring my baby" in to_staff[0]["text"]


async def test_a_command_ends_waiting_for_a_question_for_staff(bot: Harness) -> None:
    await bot.text("/human")  # "type your question for the team" ...
    await bot.text("/start")  # ... but the patient moves on
    await bot.text("how much is it")
    assert not any(p["chat_id"] == STAFF["id"] for p in bot.request.sent())


async def test_none_of_these_hands_over_the_question_it_was_asked_about(bot: Harness) -> None:
    await bot.text("treatment")  # "did you mean ...?"
    clarify_at = len([c for c in bot.request.calls if c.method == "sendMessage"]) - 1
    clarify = {
        "message_id": 5000 + clarify_at,
        "date": 0,
        "chat": {"id": 42, "type": "private"},
        "from": BOT,
        "text": "Did you mean",
    }
    await bot.text("how much is a session?")  # answered: something else came since
    await bot.press("n", message=clarify)
    assert bot.store.unanswered(30) == ["treatment"]


async def test_a_fallback_offers_one_talk_to_a_person_button(
    bot: Harness, knowledge: Knowledge
) -> None:
    await bot.text("asdfgh qwerty zxcv")
    labels = [b["text"] for b in buttons(bot.request.sent()[-1])]
    assert labels.count(knowledge.message("human_button").strip()) == 1


async def test_staff_chat_gone_keeps_the_question_and_says_how_to_reach_the_clinic(
    bot: Harness, knowledge: Knowledge
) -> None:
    """ "chat not found": the patient learns what to do, the question is kept, and the bot
    stops offering a handoff that cannot work."""
    await bot.text("can I bring my dog along to the session?")
    bot.request.fail_chats.add(STAFF["id"])
    await bot.press("h")
    await bot.press("h:send")
    assert bot.request.sent()[-1]["text"] == knowledge.message("handoff_failed")
    assert bot.errors == []
    await bot.text("/human")
    assert bot.request.sent()[-1]["text"] == knowledge.message("handoff_unavailable")

    bot.request.fail_chats.discard(STAFF["id"])
    await check_staff_chat(bot.application)  # the periodic check finds it again
    await bot.text("/human")  # ... and the kept question is offered
    assert "can I bring my dog along to the session?" in bot.request.sent()[-1]["text"]


async def test_staff_chat_checked_at_start(bot: Harness, knowledge: Knowledge) -> None:
    bot.request.fail_chats.add(STAFF["id"])
    await bot.application.post_init(bot.application)
    await bot.text("/human")
    assert bot.request.sent()[-1]["text"] == knowledge.message("handoff_unavailable")
    await bot.text("asdfgh qwerty zxcv")  # a fallback offers no "Talk to a person" now
    assert all(b.get("callback_data") != "h" for b in buttons(bot.request.sent()[-1]))


async def test_anonymous_group_admin_cannot_forget_anyone(
    bot: Harness, knowledge: Knowledge
) -> None:
    """Anonymous admins all share Telegram's GroupAnonymousBot id: /forget must not delete
    the anonymous events of every group."""
    anonymous = 1087968824
    record_event(
        bot.store, user_id=anonymous, chat_type="supergroup", source=Source.GROUP, score=90
    )
    await bot.text("/forget", user_id=anonymous, chat=GROUP, sender_chat=GROUP)
    assert bot.request.sent()[-1]["text"] == knowledge.message("forget_anonymous")
    assert bot.store.stats(7).answered == 1  # nothing deleted


async def test_handoff_buttons_forged_into_a_group_reveal_nothing(
    bot: Harness, knowledge: Knowledge
) -> None:
    """The private unanswered question must never be posted where a group can read it."""
    await bot.text("can I bring my dog along? my number is 07700 900123")
    before = len(bot.request.calls)
    in_group = {"message_id": 77, "date": 0, "chat": GROUP, "from": BOT, "text": "x"}
    for data in ("h", "h:send", "h:new"):
        await bot.press(data, message=in_group)
    calls = bot.request.calls[before:]
    assert [c.method for c in calls] == ["answerCallbackQuery"] * 3  # a toast, nothing sent
    assert all(c.params["text"] == knowledge.message("stale_button").strip() for c in calls)


def _bot_message_in(chat: dict[str, Any], bot: Harness, text: str) -> dict[str, Any]:
    # The recording layer gave the staff message the first id it had left: find it again.
    ids = [c for c in bot.request.calls if c.method == "sendMessage"]
    position = next(i for i, c in enumerate(ids) if c.params["text"] == text)
    # Telegram gives a message's text without its HTML tags.
    shown = plain_text(text)
    return {"message_id": 5000 + position, "date": 0, "chat": chat, "from": BOT, "text": shown}


async def test_human_command_without_a_question_asks_for_one(
    bot: Harness, knowledge: Knowledge
) -> None:
    await bot.text("/human")
    assert bot.request.sent()[-1]["text"] == knowledge.message("handoff_ask")
    await bot.text("what time do you close on Christmas Eve?")
    assert any(p["chat_id"] == STAFF["id"] for p in bot.request.sent())


async def test_handoff_without_a_staff_chat_gives_the_contact(knowledge: Knowledge) -> None:
    async with offline_bot(knowledge) as bot:
        await bot.text("/human")
        assert bot.request.sent()[-1]["text"] == knowledge.message("handoff_unavailable")


async def test_admin_commands_refuse_other_users(bot: Harness, knowledge: Knowledge) -> None:
    for command in ("/stats", "/gaps", "/reload", "/post pricing", "/posts"):
        await bot.text(command, user_id=42)
    assert {p["text"] for p in bot.request.sent()} == {knowledge.message("admin_only")}


async def test_stats_and_gaps_for_admins(bot: Harness) -> None:
    await bot.text("does it hurt?")
    await bot.text("can I pay with bitcoin lol")
    await bot.text("/stats", user_id=ADMIN)
    await bot.text("/gaps", user_id=ADMIN)
    texts = [p["text"] for p in bot.request.sent()]
    assert any("Questions: 2" in t for t in texts)
    assert any("can I pay with bitcoin lol" in t for t in texts)
    assert len(bot.request.sent("sendPhoto")) == 1


async def test_post_previews_then_publishes_with_a_tagged_deep_link(
    bot: Harness, knowledge: Knowledge
) -> None:
    await bot.text("/post pricing", user_id=ADMIN)
    preview = bot.request.sent()[-1]
    assert [b.get("callback_data") for b in buttons(preview)][-2:] == ["p:pricing", "p:cancel"]
    await bot.press("p:pricing", user_id=ADMIN, message=_preview(preview))
    card = next(p for p in bot.request.sent() if p["chat_id"] == "@clinic_news")
    assert knowledge.title("pricing") in card["text"]
    assert buttons(card)[0]["url"] == "https://t.me/clinic_faq_bot?start=pricing-post1"
    (post,) = bot.store.posts()
    assert (post.intent_id, post.tag) == ("pricing", "post1")

    # A double tap on Publish: the second press finds the preview already handled. Nothing
    # is posted twice, the admin gets no apology, and no error is raised.
    sent_before = len(bot.request.sent())
    bot.request.fail_reasons["editMessageReplyMarkup"] = "message is not modified"
    await bot.press("p:pricing", user_id=ADMIN, message=_preview(preview))
    assert len(bot.request.sent()) == sent_before
    assert len(bot.store.posts()) == 1 and bot.errors == []


async def test_cancel_on_a_preview_posts_nothing_and_says_so(
    bot: Harness, knowledge: Knowledge
) -> None:
    await bot.text("/post pricing", user_id=ADMIN)
    await bot.press("p:cancel", user_id=ADMIN, message=_preview(bot.request.sent()[-1]))
    assert bot.request.sent()[-1]["text"] == knowledge.message("admin_cancelled")
    assert not any(p["chat_id"] == "@clinic_news" for p in bot.request.sent())
    assert bot.store.posts() == [] and bot.errors == []


async def test_publishing_where_the_bot_may_not_post_is_explained(
    bot: Harness, knowledge: Knowledge
) -> None:
    bot.request.fail_chats.add("@clinic_news")
    await bot.text("/post booking", user_id=ADMIN)
    await bot.press("p:booking", user_id=ADMIN, message=_preview(bot.request.sent()[-1]))
    assert "I couldn't post to @clinic_news" in bot.request.sent()[-1]["text"]
    assert bot.store.posts() == []


async def test_post_with_an_unknown_topic_names_the_closest(bot: Harness) -> None:
    await bot.text("/post price", user_id=ADMIN)
    assert "<code>pricing</code>" in bot.request.sent()[-1]["text"]


def _preview(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_id": 4100,
        "date": 0,
        "chat": {"id": ADMIN, "type": "private"},
        "from": BOT,
        "text": "card",
        "reply_markup": params["reply_markup"],
    }


async def test_reload_swaps_good_content_and_keeps_the_old_on_errors(
    bot: Harness, knowledge: Knowledge
) -> None:
    content: Path = bot.application.bot_data.content_dir
    messages = content / "responses" / "messages.yaml"
    messages.write_text(messages.read_text().replace("None of these", "Something else"))
    await bot.text("/reload", user_id=ADMIN)
    assert bot.request.sent()[-1]["text"].startswith("Content reloaded")
    assert bot.application.bot_data.engine.knowledge.message("none_of_these") == "Something else"
    bot.request.fail_reasons["setMyCommands"] = "temporary trouble"
    messages.write_text(messages.read_text().replace("Something else", "Neither"))
    await bot.text("/reload", user_id=ADMIN)  # the menus fail, the reload itself worked
    assert bot.request.sent()[-1]["text"].startswith("Content reloaded") and bot.errors == []
    del bot.request.fail_reasons["setMyCommands"]
    messages.write_text(messages.read_text().replace("Neither", "Something else"))
    await bot.text("/reload", user_id=ADMIN)
    (content / "intents" / "broken.yaml").write_text("intents: [oops\n")
    await bot.text("/reload", user_id=ADMIN)
    assert "broken.yaml" in bot.request.sent()[-1]["text"]
    assert bot.application.bot_data.engine.knowledge.message("none_of_these") == "Something else"


async def test_reload_refuses_content_cut_off_in_an_upload(
    bot: Harness, knowledge: Knowledge
) -> None:
    """A safety file cut after ten lines still parses; reloading it would drop the safety net."""
    content: Path = bot.application.bot_data.content_dir
    safety = content / "intents" / "safety.yaml"
    full = safety.read_text()
    safety.write_text("\n".join(full.split("\n")[:10]) + "\n")
    await bot.text("/reload", user_id=ADMIN)
    refusal = plain_text(bot.request.sent()[-1]["text"])
    assert refusal.startswith("Not reloaded")
    patterns = len(knowledge.safety_patterns)
    assert f"safety patterns: {patterns} -> " in refusal  # what would be lost, before -> after
    engine = bot.application.bot_data.engine
    assert engine.respond("I take warfarin, is that ok?").kind.value == "safety"

    await bot.text("/reload confirm", user_id=ADMIN)  # the admin decides: load it anyway
    assert bot.request.sent()[-1]["text"].startswith("Content reloaded")
    assert len(bot.application.bot_data.engine.knowledge.safety_patterns) < patterns

    safety.write_text(full)
    await bot.text("/reload", user_id=ADMIN)  # gaining entries back needs no confirmation
    reloaded = plain_text(bot.request.sent()[-1]["text"])
    assert reloaded.startswith("Content reloaded") and f"-> {patterns}" in reloaded


async def test_discussion_comments(bot: Harness, knowledge: Knowledge) -> None:
    await bot.application.post_init(bot.application)  # learns the linked group via getChat
    forward = {
        "message_id": 1,
        "date": 0,
        "chat": DISCUSSION,
        "is_automatic_forward": True,
        "sender_chat": {"id": -1001000, "type": "channel", "title": "News"},
        "text": "Does it hurt? Find out!",
    }
    await bot.send({"message": forward})
    await bot.text("great post", chat=DISCUSSION, message_id=2, reply_to_message=forward)
    assert bot.request.sent() == []
    await bot.text(
        "does facial acupuncture hurt?", chat=DISCUSSION, message_id=3, reply_to_message=forward
    )
    (reply,) = bot.request.sent()
    assert reply["text"] == knowledge.responses["does_it_hurt"].answer
    assert reply["reply_parameters"]["message_id"] == 3
    assert buttons(reply)[0]["url"].endswith("start=does_it_hurt-discussion")


async def test_discussion_replies_can_be_switched_off(knowledge: Knowledge) -> None:
    async with offline_bot(knowledge, channel_id="@clinic_news", discussion_replies=False) as bot:
        await bot.application.post_init(bot.application)
        await bot.text("does facial acupuncture hurt?", chat=DISCUSSION, message_id=3)
        assert bot.request.sent() == []


async def test_forget_deletes_the_users_events(bot: Harness) -> None:
    await bot.text("what is qi")
    await bot.text("what is qi", user_id=43)
    await bot.text("/forget")
    assert "deleted 1 stored records" in bot.request.sent()[-1]["text"]
    assert bot.store.stats(7).questions == 1


async def test_weekly_digest_reaches_the_admins(bot: Harness, knowledge: Knowledge) -> None:
    jobs = (
        {job.name for job in bot.application.job_queue.jobs()}
        if bot.application.job_queue
        else set()
    )
    assert {"digest", "retention"} <= jobs

    # The job as the job queue runs it: a context with no chat and no user.
    await on_weekly_digest(BotContext(bot.application))
    (digest,) = [p for p in bot.request.sent() if p["chat_id"] == ADMIN]
    assert digest["text"].startswith(knowledge.message("digest_intro"))
    (chart,) = bot.request.sent("sendPhoto")  # the month's chart comes with it
    assert chart["chat_id"] == ADMIN


async def test_two_workers_on_one_database_send_one_digest(
    knowledge: Knowledge, database: Database
) -> None:
    """Every worker schedules the digest; the first to claim the day's run sends it."""
    sent = []
    for _ in range(2):
        store = EventStore(database, salt="test")
        async with offline_bot(knowledge, store, admin_ids=frozenset({ADMIN})) as worker:
            await on_weekly_digest(BotContext(worker.application))
            sent += [p for p in worker.request.sent() if p["chat_id"] == ADMIN]
    (digest,) = sent
    assert digest["text"].startswith(knowledge.message("digest_intro"))


async def test_a_conversation_goes_on_when_its_next_message_reaches_another_worker(
    knowledge: Knowledge, database: Database
) -> None:
    """/human on one worker, the question typed next on the other: it still goes to staff."""
    settings = {"staff_chat_id": STAFF["id"], "workers": 2}
    async with (
        offline_bot(knowledge, EventStore(database, salt="test"), **settings) as first,
        offline_bot(knowledge, EventStore(database, salt="test"), **settings) as second,
    ):
        second._ids = itertools.count(100_000)  # one bot's update ids, whichever worker
        await second.text("hello")  # the second worker knows this user from before
        await first.text("/human")  # "type your question for the team"
        await first.application.update_persistence()
        await first.application.bot_data.database.flush()
        await second.text("can I bring my baby to the appointment?")
        to_staff = [p for p in second.request.sent() if p["chat_id"] == STAFF["id"]]
        assert len(to_staff) == 1 and "can I bring my baby" in to_staff[0]["text"]


async def test_the_daily_purge_clears_questions_kept_in_conversation_state(
    bot: Harness, knowledge: Knowledge
) -> None:
    """The kept conversation state must not hold patients' words for longer than a day."""
    from bot.telegram.admin import on_retention_purge

    await bot.text("can I bring my dog along to the session?")  # kept for a handoff
    await on_retention_purge(BotContext(bot.application))
    await bot.text("/human")
    assert bot.request.sent()[-1]["text"] == knowledge.message("handoff_ask")  # not offered
