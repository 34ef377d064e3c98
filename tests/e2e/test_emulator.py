"""Tests of the Bot API emulator itself, driven through python-telegram-bot's ``Bot``.

These prove that the emulator speaks the protocol PTB speaks (JSON answers PTB can parse,
form/multipart request bodies) and that it rejects what Telegram rejects, so that the
bot's end-to-end tests can trust it.
"""

from __future__ import annotations

import asyncio
import html
import json
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    MessageEntity,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter

from .botapi_emulator import BotApiEmulator, Chat, User, make_png, parse_html


@pytest.fixture
def emu() -> Iterator[BotApiEmulator]:
    with BotApiEmulator() as emulator:
        yield emulator


@pytest_asyncio.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url) as client:
        yield client


def opened_chat(emu: BotApiEmulator, name: str = "Ana") -> tuple[User, Chat]:
    """A user who has already written to the bot, so the bot may message them."""
    user = emu.add_user(name, username=name.lower() + "_user")
    chat = emu.private_chat(user)
    emu.send_text(user, chat, "/start")
    return user, chat


def keyboard(*callback_data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d) for d in callback_data]])


# ------------------------------------------------------------------------- the HTML parser


def test_parse_html_entities_use_utf16_offsets() -> None:
    text, entities = parse_html(
        "\U0001f600 <b>bold <i>both</i></b> <a href='example.com'>link</a> "
        '<pre><code class="language-python">x = 1</code></pre>'
        "<blockquote expandable>q</blockquote><tg-spoiler>s</tg-spoiler>"
        '<span class="tg-spoiler">t</span> &lt;b&gt; &#128512;'
    )
    assert text == "\U0001f600 bold both link x = 1qst <b> \U0001f600"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 9},
        {"type": "italic", "offset": 8, "length": 4},
        {"type": "text_link", "offset": 13, "length": 4, "url": "http://example.com/"},
        {"type": "pre", "offset": 18, "length": 5, "language": "python"},
        {"type": "expandable_blockquote", "offset": 23, "length": 1},
        {"type": "spoiler", "offset": 24, "length": 1},
        {"type": "spoiler", "offset": 25, "length": 1},
    ]


def test_parse_html_lenient_ampersand_matches_telegram() -> None:
    # Telegram itself keeps an undecodable '&' literally; strict mode is the default here.
    assert parse_html("a & b &copy;", strict_ampersand=False) == ("a & b &copy;", [])


# ------------------------------------------------------------------------- basic methods


@pytest.mark.asyncio
async def test_get_me(emu: BotApiEmulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.username == "clinic_faq_bot"
    assert me.id == emu.bot_id == 123456
    assert me.supports_inline_queries
    assert [c.method for c in emu.calls] == ["getMe", "getMe"]  # initialize() + get_me()
    assert all(c.ok and c.time > 0 for c in emu.calls)


@pytest.mark.asyncio
async def test_send_message_with_html_returns_message_with_bold_entity(
    emu: BotApiEmulator, bot: Bot
) -> None:
    _, chat = opened_chat(emu)
    message = await bot.send_message(
        chat.id, "Hello <b>Ana</b> &amp; friends, see /help", parse_mode=ParseMode.HTML
    )
    assert message.text == "Hello Ana & friends, see /help"
    assert message.entities == (
        MessageEntity(MessageEntity.BOLD, 6, 3),
        MessageEntity(MessageEntity.BOT_COMMAND, 25, 5),
    )
    assert message.from_user is not None and message.from_user.id == emu.bot_id
    assert message.chat.id == chat.id

    sent = emu.wait_for_message(chat, timeout=1)
    assert sent["message_id"] == message.message_id
    assert sent["entities"][0] == {"type": "bold", "offset": 6, "length": 3}
    assert [m["text"] for m in emu.messages(chat)] == ["/start", message.text]
    emu.assert_clean()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("<b>hi", 'can\'t find end tag corresponding to start tag "b"'),
        ("line<br>break", 'unsupported start tag "br" at byte offset 4'),
        ("a & b", 'unescaped "&" at byte offset 2'),
        ("<b>x</i>", 'unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("1 < 2", 'unsupported start tag "" at byte offset 2'),
        ("<span>x</span>", 'tag "span" must have class "tg-spoiler"'),
        ("<a href=https://x.org>x</a>", "unexpected end of name token at byte offset 8"),
    ],
)
async def test_invalid_html_is_rejected(
    emu: BotApiEmulator, bot: Bot, text: str, fragment: str
) -> None:
    _, chat = opened_chat(emu)
    with pytest.raises(BadRequest) as raised:
        await bot.send_message(chat.id, text, parse_mode=ParseMode.HTML)
    assert str(raised.value).lower() == f"can't parse entities: {fragment}".lower() or (
        fragment.lower() in str(raised.value).lower()
    )
    (error,) = emu.errors
    assert error.description is not None
    assert error.description.startswith("Bad Request: can't parse entities: ")
    assert emu.bot_messages(chat) == []


@pytest.mark.asyncio
async def test_text_length_is_counted_in_utf16_after_parsing(emu: BotApiEmulator, bot: Bot) -> None:
    _, chat = opened_chat(emu)
    await bot.send_message(chat.id, "x" * 4096)
    await bot.send_message(chat.id, "<b>" + "x" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    await bot.send_message(chat.id, "\U0001f600" * 2048)  # 4096 UTF-16 code units
    for too_long in ("x" * 4097, "\U0001f600" * 2049):
        with pytest.raises(BadRequest, match=r"(?i)^message is too long$"):
            await bot.send_message(chat.id, too_long)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(chat.id, "<b> </b>\n", parse_mode=ParseMode.HTML)
    assert len(emu.bot_messages(chat)) == 3


@pytest.mark.asyncio
async def test_inline_keyboard_rules(emu: BotApiEmulator, bot: Bot) -> None:
    _, chat = opened_chat(emu)
    await bot.send_message(chat.id, "ok", reply_markup=keyboard("a" * 64))
    for data in ("a" * 65, "\u00e9" * 33):  # 65 and 66 bytes
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(chat.id, "too long", reply_markup=keyboard(data))
    with pytest.raises(BadRequest, match=r"(?i)text buttons are unallowed"):
        await bot.send_message(
            chat.id, "x", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("x")]])
        )
    with pytest.raises(BadRequest, match=r"(?i)button_url_invalid"):
        await bot.send_message(
            chat.id,
            "x",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("x", url="ftp://x.org")]]),
        )
    with pytest.raises(BadRequest, match=r"(?i)reply markup is too long"):
        await bot.send_message(chat.id, "x", reply_markup=keyboard(*map(str, range(101))))
    assert len(emu.errors) == 5


# ------------------------------------------------------------------------- updates


@pytest.mark.asyncio
async def test_long_poll_returns_an_update_injected_by_send_text(
    emu: BotApiEmulator, bot: Bot
) -> None:
    ana = emu.add_user("Ana", username="ana_g")
    chat = emu.private_chat(ana)
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.3)
    assert not poll.done()  # the request is really held open

    emu.send_text(ana, chat, "/start promo")
    updates = await asyncio.wait_for(poll, 3)
    assert time.monotonic() - started < 3
    (update,) = updates
    message = update.message
    assert message is not None
    assert message.text == "/start promo"
    assert message.chat.id == chat.id
    assert message.from_user is not None and message.from_user.username == "ana_g"
    assert message.entities == (MessageEntity(MessageEntity.BOT_COMMAND, 0, 6),)

    # An offset above the update confirms it.
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    assert emu.pending_updates == []
    emu.wait_until_idle(timeout=2)


@pytest.mark.asyncio
async def test_allowed_updates_filters_and_conflicting_polls(emu: BotApiEmulator, bot: Bot) -> None:
    ana, chat = opened_chat(emu)
    message = await bot.send_message(chat.id, "Pick", reply_markup=keyboard("yes"))
    emu.press_button(ana, message.to_dict(), "yes")
    updates = await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    assert [u.callback_query is not None for u in updates] == [True]  # /start was dropped

    # A second getUpdates terminates the first one with 409, as Telegram does.
    first = asyncio.create_task(bot.get_updates(offset=updates[-1].update_id + 1, timeout=3))
    await asyncio.sleep(0.2)
    async with Bot(emu.token, base_url=emu.base_url) as second_instance:
        await second_instance.get_updates(timeout=0)
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await first
    assert len(emu.conflicts) == 1
    assert emu.errors == []


def test_commands_mentions_and_group_membership(emu: BotApiEmulator) -> None:
    ana = emu.add_user("Ana")
    group = emu.add_group("Clinic fans")
    message = emu.send_text(ana, group, "/help@clinic_faq_bot hi @someone_else")
    assert message["entities"] == [
        {"type": "bot_command", "offset": 0, "length": 20},
        {"type": "mention", "offset": 24, "length": 13},
    ]
    assert message["chat"] == {"id": group.id, "type": "supergroup", "title": "Clinic fans"}
    assert group.members[ana.id] == "member"
    assert emu.updates[-1]["message"]["text"] == message["text"]


def test_wait_for_message_timeout_dumps_state(emu: BotApiEmulator) -> None:
    _, chat = opened_chat(emu)
    with pytest.raises(AssertionError, match=r"(?s)no new bot message.*'/start'"):
        emu.wait_for_message(chat, timeout=0.2)


@pytest.mark.asyncio
async def test_polling_bot_round_trip(emu: BotApiEmulator, bot: Bot) -> None:
    async def echo_bot() -> None:
        offset = 0
        while True:
            for update in await bot.get_updates(offset=offset, timeout=1):
                offset = update.update_id + 1
                if update.message and update.message.text:
                    reply = f"echo: <i>{html.escape(update.message.text)}</i>"
                    await bot.send_message(update.message.chat.id, reply, parse_mode="HTML")

    task = asyncio.create_task(echo_bot())
    try:
        ana = emu.add_user("Ana")
        chat = emu.private_chat(ana)
        emu.send_text(ana, chat, "<hi> & bye")
        reply = await asyncio.to_thread(emu.wait_for_message, chat, None, 3)
        assert reply["text"] == "echo: <hi> & bye"
        assert reply["entities"] == [{"type": "italic", "offset": 6, "length": 10}]
        await asyncio.to_thread(emu.wait_until_idle, 3)
        emu.assert_clean()
    finally:
        task.cancel()


# ------------------------------------------------------------------------- queries


@pytest.mark.asyncio
async def test_callback_query_must_be_answered_exactly_once(emu: BotApiEmulator, bot: Bot) -> None:
    ana, chat = opened_chat(emu)
    message = await bot.send_message(chat.id, "Pick a topic", reply_markup=keyboard("faq:prices"))
    sent = emu.wait_for_message(chat, timeout=1)
    with pytest.raises(AssertionError, match="no button with callback_data='faq:nope'"):
        emu.press_button(ana, sent, "faq:nope")

    query_id = emu.press_button(ana, sent, "faq:prices")
    query = (await bot.get_updates(timeout=0))[-1].callback_query
    assert query is not None
    assert (query.id, query.data) == (query_id, "faq:prices")
    assert query.message is not None and query.message.message_id == message.message_id
    assert emu.unanswered_callback_queries() == [query_id]
    with pytest.raises(AssertionError, match="unanswered callback query"):
        emu.assert_clean()

    assert await bot.answer_callback_query(query_id, text="Here are our prices")
    assert emu.wait_for_callback_answer(query_id, timeout=1)["text"] == "Here are our prices"
    assert emu.unanswered_callback_queries() == []
    with pytest.raises(BadRequest, match=r"(?i)query is too old and response timeout expired"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(AssertionError, match="rejected: answerCallbackQuery"):
        emu.assert_clean()
    emu.assert_clean(allowed_errors=["query is too old"])


@pytest.mark.asyncio
async def test_answer_inline_query_validation(emu: BotApiEmulator, bot: Bot) -> None:
    ana = emu.add_user("Ana")
    query_id = emu.inline_query(ana, "prices")
    update = (await bot.get_updates(timeout=0))[-1]
    assert update.inline_query is not None and update.inline_query.query == "prices"

    def article(result_id: str, text: str = "<b>Prices</b>") -> InlineQueryResultArticle:
        content = InputTextMessageContent(text, parse_mode=ParseMode.HTML)
        return InlineQueryResultArticle(result_id, f"Result {result_id}", content)

    rejected = [
        ([article(str(i)) for i in range(51)], "results_too_much"),
        ([article("1"), article("1")], "result_id_duplicate"),
        ([article("x" * 65)], "result_id_invalid"),
        ([article("1", "<b>oops")], "can't parse entities"),
    ]
    for results, expected in rejected:
        with pytest.raises(BadRequest, match=f"(?i){expected}"):
            await bot.answer_inline_query(query_id, results)
    assert emu.unanswered_inline_queries() == [query_id]

    assert await bot.answer_inline_query(query_id, [article("1"), article("2")], cache_time=0)
    answer = emu.wait_for_inline_answer(query_id, timeout=1)
    assert [r["id"] for r in answer["results"]] == ["1", "2"]
    for unknown_or_answered in (query_id, "12345"):
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_inline_query(unknown_or_answered, [article("1")])

    chat = emu.private_chat(ana)
    posted = emu.choose_inline_result(ana, query_id, "2", chat=chat)
    assert posted is not None
    assert posted["via_bot"]["id"] == emu.bot_id
    assert (posted["text"], posted["entities"][0]["type"]) == ("Prices", "bold")


# ------------------------------------------------------------------------- chats


@pytest.mark.asyncio
async def test_private_chat_must_be_opened_and_not_blocked(emu: BotApiEmulator, bot: Bot) -> None:
    ana = emu.add_user("Ana")
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await bot.send_message(ana.id, "hi")
    emu.send_text(ana, emu.private_chat(ana), "/start")
    await bot.send_message(ana.id, "hi")
    emu.block_bot(ana)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ana.id, "hi again")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "hi")


@pytest.mark.asyncio
async def test_channel_posting_depends_on_admin_rights(emu: BotApiEmulator, bot: Bot) -> None:
    news = emu.add_channel(
        "Clinic news", "clinic_news", bot_is_admin=True, discussion_group="Clinic chat"
    )
    other = emu.add_channel("Other channel", bot_is_admin=False)
    group = emu.discussion_group(news)
    assert group is not None and group.linked_chat_id == news.id

    post = await bot.send_message("@clinic_news", "New <i>hours</i>", parse_mode=ParseMode.HTML)
    assert post.chat.id == news.id
    assert post.sender_chat is not None and post.sender_chat.id == news.id
    assert post.from_user is None
    with pytest.raises(BadRequest, match=r"(?i)need administrator rights in the channel chat"):
        await bot.send_message(other.id, "hi")

    forward = emu.automatic_forward(post.to_dict())
    assert forward["is_automatic_forward"] is True
    assert forward["sender_chat"]["id"] == news.id
    assert forward["forward_origin"]["message_id"] == post.message_id
    (update,) = await bot.get_updates(timeout=0)  # PTB parses the automatic forward
    assert update.message is not None and update.message.is_automatic_forward

    ana = emu.add_user("Ana")
    channel_post = emu.channel_post(news, "Saturday opening!")
    comment = emu.comment(ana, group, channel_post, "What time?")
    thread = emu.automatic_forward(channel_post)["message_id"]
    assert comment["message_thread_id"] == thread
    assert comment["reply_to_message"]["is_automatic_forward"] is True
    reply = await bot.send_message(
        group.id, "From 10:00", reply_parameters=ReplyParameters(comment["message_id"])
    )
    assert reply.message_thread_id == thread
    kinds = [next(k for k in u if k != "update_id") for u in emu.updates]
    assert kinds == ["message", "channel_post", "message", "message"]
    emu.assert_clean(allowed_errors=["need administrator rights"])


@pytest.mark.asyncio
async def test_user_media_privacy_mode_and_chat_info_parse_in_ptb() -> None:
    with BotApiEmulator(privacy_mode=True) as emu:
        async with Bot(emu.token, base_url=emu.base_url) as bot:
            ana, chat = opened_chat(emu)
            bob = emu.add_user("Bob")
            group = emu.add_group("Clinic fans", owner=bob)
            emu.send_photo(ana, chat, caption="look")
            emu.send_sticker(ana, chat)
            emu.send_voice(ana, chat)
            emu.send_location(ana, chat)
            emu.edit_text(emu.send_text(ana, chat, "typo"), "fixed")
            emu.send_text(ana, group, "chatter the bot cannot see in privacy mode")
            emu.send_text(ana, group, "/help@other_bot")
            emu.send_text(ana, group, "/help")

            messages = [u.effective_message for u in await bot.get_updates(timeout=0)]
            assert all(m is not None for m in messages)
            kinds = [
                next(k for k in ("photo", "sticker", "voice", "location", "text") if getattr(m, k))
                for m in messages
                if m is not None
            ]
            assert kinds == [
                "text",
                "photo",
                "sticker",
                "voice",
                "location",
                "text",
                "text",
                "text",
            ]
            assert [m.text for m in messages[-3:] if m is not None] == ["typo", "fixed", "/help"]

            assert (await bot.get_chat(group.id)).title == "Clinic fans"
            assert (await bot.get_chat(chat.id)).first_name == "Ana"
            assert (await bot.get_chat_member(group.id, bob.id)).status == "creator"
            assert (await bot.get_chat_member(group.id, emu.bot_id)).status == "member"
            admins = await bot.get_chat_administrators(group.id)
            assert [a.user.id for a in admins] == [bob.id]
            emu.assert_clean()


@pytest.mark.asyncio
async def test_edit_reply_and_delete_rules(emu: BotApiEmulator, bot: Bot) -> None:
    ana, chat = opened_chat(emu)
    message = await bot.send_message(chat.id, "Pick", reply_markup=keyboard("a"))
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Pick", chat.id, message.message_id, reply_markup=keyboard("a"))
    edited = await bot.edit_message_text("Picked", chat_id=chat.id, message_id=message.message_id)
    assert isinstance(edited, type(message)) and edited.reply_markup is None  # keyboard dropped
    stored = emu.get_message(chat, message.message_id)
    assert stored is not None and stored["text"] == "Picked" and "edit_date" in stored

    hello = emu.send_text(ana, chat, "hello")
    with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
        await bot.edit_message_text("x", chat_id=chat.id, message_id=hello["message_id"])
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=chat.id, message_id=999)
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(chat.id, "x", reply_parameters=ReplyParameters(999))

    reply = await bot.send_message(
        chat.id, "hi", reply_parameters=ReplyParameters(hello["message_id"])
    )
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "hello"
    assert await bot.delete_message(chat.id, reply.message_id)
    assert emu.get_message(chat, reply.message_id) is None
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(chat.id, reply.message_id)


@pytest.mark.asyncio
async def test_commands_are_stored_per_scope_and_language(emu: BotApiEmulator, bot: Bot) -> None:
    group = emu.add_group("Clinic fans")
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
    await bot.set_my_commands([BotCommand("start", "Empezar")], language_code="es")
    await bot.set_my_commands(
        [BotCommand("admin", "Admin tools")], scope=BotCommandScopeAllChatAdministrators()
    )
    await bot.set_my_commands([BotCommand("faq", "FAQ")], scope=BotCommandScopeChat(group.id))
    assert emu.commands[("default", "")] == [
        {"command": "start", "description": "Start"},
        {"command": "help", "description": "Help"},
    ]
    assert emu.get_commands("default", "es") == [{"command": "start", "description": "Empezar"}]
    assert emu.get_commands("all_chat_administrators")[0]["command"] == "admin"
    assert emu.get_commands(f"chat:{group.id}")[0]["command"] == "faq"
    assert [c.command for c in await bot.get_my_commands(language_code="es")] == ["start"]
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Help", "Capital letters are invalid")])
    assert await bot.delete_my_commands(language_code="es")
    assert ("default", "es") not in emu.commands


# ------------------------------------------------------------------------- files and HTTP


@pytest.mark.asyncio
async def test_send_photo_multipart_upload(emu: BotApiEmulator, bot: Bot) -> None:
    _, chat = opened_chat(emu)
    png = make_png(40, 30)
    message = await bot.send_photo(
        chat.id, photo=png, caption="Our <b>clinic</b>", parse_mode=ParseMode.HTML
    )
    assert (message.photo[-1].width, message.photo[-1].height) == (40, 30)
    assert message.caption == "Our clinic"
    assert message.caption_entities == (MessageEntity(MessageEntity.BOLD, 4, 6),)
    call = emu.wait_for_call("sendPhoto", timeout=1)
    assert call.params["photo"]["size"] == len(png)
    assert call.params["caption"] == "Our <b>clinic</b>"

    photo_file = await bot.get_file(message.photo[-1].file_id)
    assert bytes(await photo_file.download_as_bytearray()) == png
    again = await bot.send_photo(chat.id, photo=message.photo[-1].file_id)
    assert again.photo[-1].width == 40

    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_photo(chat.id, photo=png, caption="x" * 1025)
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(chat.id, photo=b"definitely not an image")
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(chat.id, photo="no-such-file-id")


def test_http_protocol_tokens_methods_and_encodings(emu: BotApiEmulator) -> None:
    ana, _ = opened_chat(emu)
    api = f"{emu.base_url}{emu.token}"
    with httpx.Client() as client:
        unknown = client.post(f"{api}/noSuchMethod", json={})
        assert unknown.status_code == 404
        assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        assert client.get(f"{emu.base_url}999:wrong/getMe").json()["error_code"] == 401
        assert client.get(f"{emu.base_url}garbage/getMe").status_code == 404
        assert client.get(f"{api}/GETME").json()["result"]["username"] == "clinic_faq_bot"

        markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}
        form = client.post(
            f"{api}/sendMessage",
            data={"chat_id": str(ana.id), "text": "form", "reply_markup": json.dumps(markup)},
        ).json()
        assert form["ok"] and form["result"]["reply_markup"] == markup
        query = client.get(f"{api}/sendMessage", params={"chat_id": ana.id, "text": "query"})
        assert query.json()["result"]["text"] == "query"
        as_json = client.post(f"{api}/sendMessage", json={"chat_id": ana.id, "text": ""})
        assert as_json.json() == {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: message text is empty",
        }
    assert [c.note for c in emu.calls if c.note] == [
        "unknown method (or one the emulator does not model)",
        "wrong token",
        "wrong token",
    ]


@pytest.mark.asyncio
# PTB warns about the future type of RetryAfter.retry_after whenever it builds one.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_invalid_token_raises_and_faults_can_be_injected(
    emu: BotApiEmulator, bot: Bot
) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=emu.base_url):
            pass  # initialize() calls getMe, which answers 401 Unauthorized
    _, chat = opened_chat(emu)
    emu.inject_error("sendMessage", retry_after=3)
    with pytest.raises(RetryAfter, match="Retry in 3 seconds"):
        await bot.send_message(chat.id, "hi")
    await bot.send_message(chat.id, "hi")  # only the next call fails
    emu.assert_clean(allowed_errors=["Unauthorized"])
