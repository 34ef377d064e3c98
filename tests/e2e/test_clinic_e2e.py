"""End to end for the clinic's tools: channel posts, discussion replies, staff handoff,
feedback, /forget, and the admin reports, with ``python -m bot run`` against the emulator."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.content.knowledge import Knowledge

from .botapi_emulator import BotApiEmulator, Chat, User
from .running_bot import bot_process, buttons, shown

UNANSWERED = "do you have wifi in the waiting room"


@dataclass
class Clinic:
    emu: BotApiEmulator
    admin: User
    channel: Chat
    discussion: Chat
    staff: Chat
    staff_member: User
    log: str = ""


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    with BotApiEmulator(bot_username="clinic_faq_bot") as emu:
        admin = emu.add_user("Ada")
        staff_member = emu.add_user("Sam")
        channel = emu.add_channel(
            "Willow Lane news", username="willowlane_demo", discussion_group=True
        )
        discussion = emu.discussion_group(channel)
        assert discussion is not None
        staff = emu.add_group("Willow Lane staff", members=[staff_member])
        emu.send_text(admin, emu.private_chat(admin), "hi")  # the admin has opened the bot before
        settings = {
            "ADMIN_IDS": str(admin.id),
            "CHANNEL_ID": "@willowlane_demo",
            "STAFF_CHAT_ID": str(staff.id),
        }
        world = Clinic(emu, admin, channel, discussion, staff, staff_member)
        with bot_process(emu, tmp_path_factory.mktemp("db") / "bot.sqlite3", **settings) as bot:
            emu.wait_for_call(
                "setMyCommands",
                predicate=lambda c: c.params.get("scope", {}).get("type") == "chat",
                timeout=30,
            )
            emu.wait_for_message(emu.private_chat(admin), timeout=20)  # the answer to "hi"
            yield world
        world.log = bot.log
    assert UNANSWERED not in world.log


@pytest.fixture
def emu(clinic: Clinic) -> Iterator[BotApiEmulator]:
    yield clinic.emu
    clinic.emu.wait_until_idle(timeout=20)
    clinic.emu.assert_clean()


def test_admin_menu_and_refusal_for_others(
    clinic: Clinic, emu: BotApiEmulator, knowledge: Knowledge
) -> None:
    menu = [c["command"] for c in emu.get_commands(f"chat:{clinic.admin.id}")]
    assert set(knowledge.admin_commands) <= set(menu)
    stranger = emu.add_user("Stan")
    chat = emu.private_chat(stranger)
    emu.send_text(stranger, chat, "/stats")
    assert emu.wait_for_message(chat)["text"] == shown(knowledge.message("admin_only"))


def test_publish_a_post_and_open_its_deep_link(
    clinic: Clinic, emu: BotApiEmulator, knowledge: Knowledge
) -> None:
    admin_chat = emu.private_chat(clinic.admin)
    emu.send_text(clinic.admin, admin_chat, "/post pricing")
    emu.wait_for_message(admin_chat)  # "Preview of the post for @willowlane_demo. Publish it?"
    preview = emu.wait_for_message(admin_chat)
    assert shown(knowledge.responses["pricing"].answer) in preview["text"]
    emu.wait_for_callback_answer(emu.press_button(clinic.admin, preview, "p:pricing"))
    card = emu.wait_for_message(clinic.channel)
    assert card["text"].startswith(knowledge.title("pricing"))
    (ask,) = buttons(card)
    assert ask["text"] == knowledge.message("ask_button")
    payload = re.fullmatch(r"https://t\.me/clinic_faq_bot\?start=(pricing-post\d+)", ask["url"])
    assert payload is not None
    assert "as post" in emu.wait_for_message(admin_chat)["text"]

    reader = emu.add_user("Rita")
    chat = emu.private_chat(reader)
    emu.send_text(reader, chat, f"/start {payload.group(1)}")
    assert emu.wait_for_message(chat)["text"] == shown(knowledge.responses["pricing"].answer)

    emu.send_text(clinic.admin, admin_chat, "/posts")
    assert "1 visits" in emu.wait_for_message(admin_chat)["text"]


def test_unknown_post_topic_names_the_closest(clinic: Clinic, emu: BotApiEmulator) -> None:
    admin_chat = emu.private_chat(clinic.admin)
    emu.send_text(clinic.admin, admin_chat, "/post prices")
    assert "pricing" in emu.wait_for_message(admin_chat)["text"]


def test_discussion_comment_is_answered_and_chatter_is_not(
    clinic: Clinic, emu: BotApiEmulator, knowledge: Knowledge
) -> None:
    post = emu.channel_post(clinic.channel, "New: evening appointments on Wednesdays!")
    forwarded = emu.automatic_forward(post, timeout=5)
    reader = emu.add_user("Cora")
    emu.comment(reader, clinic.discussion, forwarded, "lovely, see you soon")
    question = emu.comment(reader, clinic.discussion, forwarded, "Does facial acupuncture hurt?")
    reply = emu.wait_for_message(clinic.discussion)
    assert reply["text"] == shown(knowledge.responses["does_it_hurt"].answer)
    assert reply["reply_to_message"]["message_id"] == question["message_id"]
    assert buttons(reply)[0]["url"].endswith("start=does_it_hurt-discussion")
    emu.wait_until_idle()
    assert len(emu.bot_messages(clinic.discussion)) == 1  # silent on chatter and on the forward


def test_handoff_to_staff_and_reply_back(
    clinic: Clinic, emu: BotApiEmulator, knowledge: Knowledge
) -> None:
    patient = emu.add_user("Pia")
    chat = emu.private_chat(patient)
    emu.send_text(patient, chat, UNANSWERED)
    fallback = emu.wait_for_message(chat)
    assert fallback["text"] == shown(knowledge.message("fallback"))
    emu.wait_for_callback_answer(emu.press_button(patient, fallback, "h"))
    confirm = emu.wait_for_message(chat)
    assert UNANSWERED in confirm["text"]
    emu.wait_for_callback_answer(emu.press_button(patient, confirm, "h:send"))
    handed = emu.wait_for_message(clinic.staff)
    assert "Question from Pia" in handed["text"] and UNANSWERED in handed["text"]
    assert emu.wait_for_message(chat)["text"].startswith(
        shown(knowledge.message("handoff_sent"))[:40]
    )

    emu.send_text(
        clinic.staff_member, clinic.staff, "Yes, we do <wifi> & a password!", reply_to=handed
    )
    relayed = emu.wait_for_message(chat)
    assert "Yes, we do <wifi> & a password!" in relayed["text"]
    assert emu.wait_for_message(clinic.staff)["text"] == shown(knowledge.message("staff_relayed"))


def test_feedback_vote_is_stored_and_buttons_go(
    clinic: Clinic, emu: BotApiEmulator, knowledge: Knowledge
) -> None:
    voter = emu.add_user("Vic")
    chat = emu.private_chat(voter)
    emu.send_text(voter, chat, "how long is a session?")
    answer = emu.wait_for_message(chat)
    vote = next(
        b["callback_data"] for b in buttons(answer) if b.get("callback_data", "").endswith(":y")
    )
    query = emu.press_button(voter, answer, vote)
    assert emu.wait_for_callback_answer(query)["text"] == shown(
        knowledge.message("feedback_thanks")
    )
    emu.wait_until_idle()
    current = emu.get_message(chat, answer["message_id"])
    assert current is not None
    assert not any(b.get("callback_data", "").startswith("f:") for b in buttons(current))


def test_stats_and_gaps_show_these_events(clinic: Clinic, emu: BotApiEmulator) -> None:
    admin_chat = emu.private_chat(clinic.admin)
    emu.send_text(clinic.admin, admin_chat, "/stats")
    stats = emu.wait_for_message(admin_chat)["text"]
    assert "post" in stats and "Helpful" in stats
    chart = emu.wait_for_message(admin_chat, predicate=lambda m: "photo" in m)
    assert chart["caption"] == "Willow Lane Acupuncture (demo): the last 30 days"
    emu.send_text(clinic.admin, admin_chat, "/gaps")
    assert UNANSWERED in emu.wait_for_message(admin_chat)["text"]


def test_forget_deletes_what_is_stored(clinic: Clinic, emu: BotApiEmulator) -> None:
    user = emu.add_user("Fern")
    chat = emu.private_chat(user)
    emu.send_text(user, chat, "what is qi")
    emu.wait_for_message(chat)
    emu.send_text(user, chat, "/forget")
    assert "deleted 1 stored records" in emu.wait_for_message(chat)["text"]
    emu.send_text(user, chat, "/forget")
    assert "deleted 0 stored records" in emu.wait_for_message(chat)["text"]
