"""End to end: ``python -m bot run`` as a subprocess against the local Bot API emulator,
driven the way users drive it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.content.knowledge import Knowledge
from bot.engine import DialogueEngine

from .botapi_emulator import BotApiEmulator
from .running_bot import BotProcess, bot_process, shown

SECRET_QUESTION = "my private symptom is xyzzy-rash"


@dataclass
class RunningBot:
    emu: BotApiEmulator
    bot: BotProcess


@pytest.fixture(scope="module")
def running_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    with BotApiEmulator(bot_username="clinic_faq_bot") as emulator:
        database = tmp_path_factory.mktemp("db") / "bot.sqlite3"
        with bot_process(emulator, database) as bot:
            for _scope in ("private", "group"):  # the menus are set last thing before polling
                emulator.wait_for_call("setMyCommands", timeout=30)
            yield RunningBot(emulator, bot)
    assert SECRET_QUESTION not in bot.log


@pytest.fixture
def emu(running_bot: RunningBot) -> Iterator[BotApiEmulator]:
    yield running_bot.emu
    running_bot.emu.wait_until_idle(timeout=20)
    running_bot.emu.assert_clean()


def callback_data(message: dict[str, Any]) -> list[str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row if "callback_data" in b]


def test_command_menu_is_set(emu: BotApiEmulator, knowledge: Knowledge) -> None:
    private = [c["command"] for c in emu.get_commands("all_private_chats")]
    assert private == list(knowledge.commands)
    assert emu.get_commands("all_group_chats")


def test_start_with_and_without_payload(emu: BotApiEmulator, knowledge: Knowledge) -> None:
    ana = emu.add_user("Ana")
    chat = emu.private_chat(ana)
    emu.send_text(ana, chat, "/start")
    assert emu.wait_for_message(chat)["text"] == shown(knowledge.message("welcome"))
    emu.send_text(ana, chat, "/start pricing-post3")
    assert emu.wait_for_message(chat)["text"] == shown(knowledge.responses["pricing"].answer)
    emu.send_text(ana, chat, "/start no_such_thing")
    assert emu.wait_for_message(chat)["text"] == shown(knowledge.message("welcome"))


def test_question_with_typos_then_button_press(emu: BotApiEmulator, knowledge: Knowledge) -> None:
    ben = emu.add_user("Ben")
    chat = emu.private_chat(ben)
    emu.send_text(ben, chat, "dose acupunture hurt??")
    answer = emu.wait_for_message(chat)
    assert answer["text"] == shown(knowledge.responses["does_it_hurt"].answer)
    follow_up = knowledge.responses["does_it_hurt"].follow_ups[0]
    query_id = emu.press_button(ben, answer, f"a:{follow_up}")
    emu.wait_for_callback_answer(query_id)
    assert emu.wait_for_message(chat)["text"] == shown(knowledge.responses[follow_up].answer)


def test_clarify_flow(emu: BotApiEmulator, engine: DialogueEngine, knowledge: Knowledge) -> None:
    assert engine.respond("treatment").kind.value == "clarify"
    cleo = emu.add_user("Cleo")
    chat = emu.private_chat(cleo)
    emu.send_text(cleo, chat, "treatment")
    clarify = emu.wait_for_message(chat)
    assert clarify["text"] == shown(knowledge.message("clarify"))
    assert callback_data(clarify)[-1] == "n"
    emu.wait_for_callback_answer(emu.press_button(cleo, clarify, callback_data(clarify)[0]))
    picked = callback_data(clarify)[0].removeprefix("a:")
    assert emu.wait_for_message(chat)["text"] == shown(knowledge.responses[picked].answer)
    emu.wait_for_callback_answer(emu.press_button(cleo, clarify, "n"))
    assert emu.wait_for_message(chat)["text"] == shown(knowledge.message("fallback"))


def test_inline_query(emu: BotApiEmulator, knowledge: Knowledge) -> None:
    dan = emu.add_user("Dan")
    answer = emu.wait_for_inline_answer(emu.inline_query(dan, "how much does it cost"))
    assert 1 <= len(answer["results"]) <= 10
    assert answer["results"][0]["id"] == "pricing"
    empty = emu.wait_for_inline_answer(emu.inline_query(dan, ""))
    assert [r["id"] for r in empty["results"]] == list(knowledge.popular_topics)


def test_group_answers_only_when_addressed(emu: BotApiEmulator, knowledge: Knowledge) -> None:
    eve = emu.add_user("Eve")
    group = emu.add_group("Skin chat")
    emu.send_text(eve, group, "does it hurt?")
    mention = emu.send_text(eve, group, "@clinic_faq_bot does it hurt?")
    reply = emu.wait_for_message(group)
    assert reply["text"] == shown(knowledge.responses["does_it_hurt"].answer)
    assert reply["reply_to_message"]["message_id"] == mention["message_id"]
    emu.send_text(eve, group, "and the price?", reply_to=reply)
    assert emu.wait_for_message(group)["text"] == shown(knowledge.responses["pricing"].answer)
    emu.wait_until_idle()
    assert len(emu.bot_messages(group)) == 2  # the unaddressed question got no answer


def test_photo_long_text_and_html_lookalike(emu: BotApiEmulator, knowledge: Knowledge) -> None:
    fay = emu.add_user("Fay")
    chat = emu.private_chat(fay)
    emu.send_photo(fay, chat)
    assert emu.wait_for_message(chat)["text"] == shown(knowledge.message("unsupported_media"))
    emu.send_text(fay, chat, "Does it hurt? " + "I am a little nervous about it. " * 160)
    assert emu.wait_for_message(chat)["text"]
    emu.send_text(fay, chat, "<b>hi")
    assert emu.wait_for_message(chat)["text"]
    emu.send_text(fay, chat, SECRET_QUESTION)
    assert emu.wait_for_message(chat)["text"]


def test_two_hundred_messages_from_twenty_users(emu: BotApiEmulator) -> None:
    questions = ["does it hurt", "price?", "what is qi", "how long is a session", "where are you"]
    users = [emu.add_user(f"User{n}") for n in range(20)]
    chats = [emu.private_chat(user) for user in users]
    for round_number in range(10):
        for user, chat in zip(users, chats, strict=True):
            emu.send_text(user, chat, questions[(round_number + user.id) % len(questions)])
    emu.wait_until_idle(timeout=60)
    for chat in chats:
        for _ in range(10):
            emu.wait_for_message(chat, timeout=30)
