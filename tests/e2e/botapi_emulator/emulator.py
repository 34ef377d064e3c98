"""The emulator: world state, the controller API tests drive, and the Bot API methods."""

from __future__ import annotations

import copy
import email.message
import itertools
import json
import re
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from .errors import ApiError, _bad
from .html import _sort_entities, detect_entities
from .images import make_png
from .limits import (
    _T,
    CONTENT_KEYS,
    DEFAULT_EXCLUDED_UPDATES,
    DEFAULT_TOKEN,
    JSON,
    TELEGRAM_SERVICE_USER,
)
from .methods import BotApiMethods
from .model import (
    Call,
    Chat,
    UploadedFile,
    User,
    _CallbackQuery,
    _decode_json_params,
    _Fault,
    _InlineQuery,
    _Params,
    _parse_multipart,
    _StoredFile,
)
from .server import _Server
from .validation import RequestChecks

# --------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------

UserRef = User | int | JSON
ChatRef = Chat | int | JSON
Predicate = Callable[[JSON], bool]


class BotApiEmulator(RequestChecks, BotApiMethods):
    """A fake Telegram Bot API server plus a controller for the user side.

    All public methods are thread-safe and synchronous. Messages/updates are returned as
    deep copies of the Bot API JSON, so tests can keep them around safely.
    """

    _COMMAND_SCOPES: ClassVar[frozenset[str]] = frozenset(
        {"default", "all_private_chats", "all_group_chats", "all_chat_administrators"}
    )

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "clinic_faq_bot",
        bot_id: int | None = None,
        *,
        bot_first_name: str = "Clinic FAQ",
        supports_inline_queries: bool = True,
        privacy_mode: bool = False,
        strict_html_ampersand: bool = True,
    ):
        """Create an emulator; ``bot_id`` defaults to the numeric prefix of the token.

        ``privacy_mode=True`` models group privacy mode: in groups where the bot is not an
        administrator it only receives commands, replies to its messages, mentions of it
        and automatic forwards. The default (off) delivers every group message.
        """
        self.token = token
        self.bot_username = bot_username
        prefix = token.split(":", 1)[0]
        self.bot_id = bot_id if bot_id is not None else (int(prefix) if prefix.isdigit() else 1)
        self.bot_first_name = bot_first_name
        self.supports_inline_queries = supports_inline_queries
        self.privacy_mode = privacy_mode
        self.strict_html_ampersand = strict_html_ampersand

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

        self._users: dict[int, User] = {}
        self._chats: dict[int, Chat] = {}
        self._history: dict[int, list[JSON]] = {}
        self._index: dict[tuple[int, int], JSON] = {}
        self._next_message_id: dict[int, int] = {}
        self._bot_keys: set[tuple[int, int]] = set()
        self._bot_sent: dict[int, list[JSON]] = {}
        self._consumed: set[tuple[int, int]] = set()
        self._deleted: list[JSON] = []
        self._auto_forwards: dict[tuple[int, int], tuple[int, int]] = {}
        self._inline_messages: dict[str, tuple[int, int]] = {}

        self._queue: list[JSON] = []
        self._all_updates: list[JSON] = []
        self._allowed_updates: frozenset[str] | None = None
        self._max_fetched = 0
        self._poll_generation = 0
        self._webhook: JSON | None = None

        self._calls: list[Call] = []
        self._consumed_calls: set[int] = set()
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._faults: list[_Fault] = []
        self._latency: dict[str, float] = {}

        self._callbacks: dict[str, _CallbackQuery] = {}
        self._inline_queries: dict[str, _InlineQuery] = {}
        self._inline_results: dict[str, list[JSON]] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._menu_buttons: dict[int | None, JSON] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}
        self._files: dict[str, _StoredFile] = {}
        self._png_cache: dict[tuple[int, int], bytes] = {}

        counter = itertools.count
        self._user_ids = counter(100_000_001)
        self._group_ids = counter(1)
        self._update_ids = counter(500_000_001)
        self._query_ids = counter(1)
        self._file_ids = counter(1)
        self._inline_message_ids = counter(1)

        self._methods: dict[str, tuple[str, Callable[[_Params], Any]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._m_get_me,
                "getUpdates": self._m_get_updates,
                "logOut": self._m_true,
                "close": self._m_true,
                "setWebhook": self._m_set_webhook,
                "deleteWebhook": self._m_delete_webhook,
                "getWebhookInfo": self._m_get_webhook_info,
                "setMyCommands": self._m_set_my_commands,
                "getMyCommands": self._m_get_my_commands,
                "deleteMyCommands": self._m_delete_my_commands,
                "setMyDescription": self._m_set_bot_text("description"),
                "getMyDescription": self._m_get_bot_text("description"),
                "setMyShortDescription": self._m_set_bot_text("short_description"),
                "getMyShortDescription": self._m_get_bot_text("short_description"),
                "setMyName": self._m_set_bot_text("name"),
                "getMyName": self._m_get_bot_text("name"),
                "setChatMenuButton": self._m_set_chat_menu_button,
                "getChatMenuButton": self._m_get_chat_menu_button,
                "sendMessage": self._m_send_message,
                "sendPhoto": self._m_send_photo,
                "sendDocument": self._m_send_document,
                "sendChatAction": self._m_send_chat_action,
                "forwardMessage": self._m_forward_message,
                "copyMessage": self._m_copy_message,
                "editMessageText": self._m_edit_message_text,
                "editMessageCaption": self._m_edit_message_caption,
                "editMessageReplyMarkup": self._m_edit_message_reply_markup,
                "deleteMessage": self._m_delete_message,
                "answerCallbackQuery": self._m_answer_callback_query,
                "answerInlineQuery": self._m_answer_inline_query,
                "getChat": self._m_get_chat,
                "getChatMember": self._m_get_chat_member,
                "getChatMemberCount": self._m_get_chat_member_count,
                "getChatAdministrators": self._m_get_chat_administrators,
                "getFile": self._m_get_file,
            }.items()
        }

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> BotApiEmulator:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        if self._server is not None:
            return self
        self._stopping = False
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="botapi-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release pending long polls (they answer ``[]``) and shut the server down."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> BotApiEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """For ``Bot(token, base_url=...)``: PTB appends the token and ``/method``."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``Bot(token, base_file_url=...)``: PTB appends the token and the file path."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ----------------------------------------------------------------- world building

    def add_user(
        self,
        first_name: str = "Ana",
        username: str | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
    ) -> User:
        """Register a (human) user; returns it (``user.id``, ``user.to_dict()``)."""
        with self._lock:
            uid = user_id if user_id is not None else next(self._user_ids)
            user = User(uid, first_name, username, last_name, language_code)
            self._users[uid] = user
            return user

    def private_chat(self, user: UserRef) -> Chat:
        """The private chat between ``user`` and the bot (chat id == user id).

        It counts as *opened* only once the user has sent something in it; until then the
        bot gets "Forbidden: bot can't initiate conversation with a user".
        """
        with self._lock:
            return self._private_chat(self._user(user))

    def add_group(
        self,
        title: str,
        supergroup: bool = True,
        *,
        username: str | None = None,
        bot_is_admin: bool = False,
        bot_is_member: bool = True,
        is_forum: bool = False,
        owner: UserRef | None = None,
        members: Iterable[UserRef] = (),
    ) -> Chat:
        """A (super)group with the bot as member (or administrator)."""
        with self._lock:
            number = next(self._group_ids)
            if supergroup:
                chat_id = -(1_000_000_000_000 + 2_000_000_000 + number)
                chat = Chat(chat_id, "supergroup", title=title, username=username)
                chat.is_forum = is_forum
            else:
                chat = Chat(-(4_000_000_000 + number), "group", title=title)
            chat.bot_status = self._bot_status(bot_is_admin, bot_is_member)
            if owner is not None:
                chat.members[self._user(owner).id] = "creator"
            for member in members:
                chat.members.setdefault(self._user(member).id, "member")
            self._chats[chat.id] = chat
            return chat

    def add_channel(
        self,
        title: str,
        username: str | None = None,
        bot_is_admin: bool = True,
        discussion_group: Chat | str | bool | None = None,
        *,
        bot_is_member: bool = True,
    ) -> Chat:
        """A channel; ``discussion_group`` links a supergroup (a Chat, or a title/True to
        create one) that receives automatic forwards of every post."""
        with self._lock:
            number = next(self._group_ids)
            chat = Chat(
                -(1_000_000_000_000 + 2_000_000_000 + number),
                "channel",
                title=title,
                username=username,
                bot_status=self._bot_status(bot_is_admin, bot_is_member),
            )
            self._chats[chat.id] = chat
            if discussion_group is not None and discussion_group is not False:
                if isinstance(discussion_group, Chat):
                    group = self._chat(discussion_group)
                    if group.type != "supergroup":
                        raise ValueError("a discussion group must be a supergroup")
                else:
                    name = discussion_group if isinstance(discussion_group, str) else None
                    group = self.add_group(name or f"{title} Chat")
                chat.linked_chat_id = group.id
                group.linked_chat_id = chat.id
            return chat

    def discussion_group(self, channel: ChatRef) -> Chat | None:
        with self._lock:
            linked = self._chat(channel).linked_chat_id
            return self._chats.get(linked) if linked is not None else None

    def set_bot_status(self, chat: ChatRef, status: str) -> None:
        """Change the bot's membership: administrator, member, left or kicked."""
        if status not in ("administrator", "member", "left", "kicked"):
            raise ValueError(status)
        with self._lock:
            self._chat(chat).bot_status = status

    def set_member_status(self, chat: ChatRef, user: UserRef, status: str) -> None:
        """Change a user's membership: creator, administrator, member, left or kicked."""
        with self._lock:
            self._chat(chat).members[self._user(user).id] = status

    def block_bot(self, user: UserRef) -> None:
        """The user blocks the bot: a my_chat_member update, then sends are Forbidden."""
        self._set_blocked(user, blocked=True)

    def unblock_bot(self, user: UserRef) -> None:
        self._set_blocked(user, blocked=False)

    # ----------------------------------------------------------------- user actions

    def send_text(
        self,
        user: UserRef,
        chat: ChatRef,
        text: str,
        reply_to: JSON | int | None = None,
        *,
        entities: list[JSON] | None = None,
    ) -> JSON:
        """The user writes ``text`` in ``chat``; returns the Message (a ``message`` update
        is queued). Entities: /commands (incl. ``/start payload``, ``/help@bot``),
        @mentions, URLs and #hashtags are detected as Telegram does."""
        detected = detect_entities(text, entities or [])
        content: JSON = {"text": text}
        all_entities = _sort_entities([*(entities or []), *detected])
        if all_entities:
            content["entities"] = all_entities
        return self._user_message(user, chat, content, reply_to)

    def send_photo(
        self,
        user: UserRef,
        chat: ChatRef,
        caption: str | None = None,
        *,
        width: int = 640,
        height: int = 480,
        reply_to: JSON | int | None = None,
    ) -> JSON:
        with self._lock:
            data = self._png(width, height)
            content: JSON = {"photo": self._photo_sizes(data, width, height)}
            self._add_caption(content, caption)
            return self._user_message(user, chat, content, reply_to)

    def send_document(
        self,
        user: UserRef,
        chat: ChatRef,
        file_name: str = "document.pdf",
        data: bytes = b"%PDF-1.4\n%emulator\n",
        mime_type: str = "application/pdf",
        caption: str | None = None,
    ) -> JSON:
        with self._lock:
            stored = self._store_file("document", data, file_name=file_name, mime_type=mime_type)
            content: JSON = {"document": self._document_dict(stored)}
            self._add_caption(content, caption)
            return self._user_message(user, chat, content)

    def send_sticker(self, user: UserRef, chat: ChatRef, emoji: str = "\U0001f44d") -> JSON:
        with self._lock:
            stored = self._store_file("sticker", b"RIFF\0\0\0\0WEBPVP8 ", mime_type="image/webp")
            sticker = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": emoji,
                "file_size": len(stored.data),
            }
            return self._user_message(user, chat, {"sticker": sticker})

    def send_voice(self, user: UserRef, chat: ChatRef, duration: int = 3) -> JSON:
        with self._lock:
            stored = self._store_file("voice", b"OggS\0emulator", mime_type="audio/ogg")
            voice = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "duration": duration,
                "mime_type": "audio/ogg",
                "file_size": len(stored.data),
            }
            return self._user_message(user, chat, {"voice": voice})

    def send_location(
        self, user: UserRef, chat: ChatRef, latitude: float = 41.3874, longitude: float = 2.1686
    ) -> JSON:
        return self._user_message(
            user, chat, {"location": {"latitude": latitude, "longitude": longitude}}
        )

    def send_custom(
        self, user: UserRef, chat: ChatRef, content: JSON, reply_to: JSON | int | None = None
    ) -> JSON:
        """Escape hatch: a user message with arbitrary Bot API content fields."""
        return self._user_message(user, chat, copy.deepcopy(content), reply_to)

    def edit_text(self, message: JSON, new_text: str) -> JSON:
        """The author edits a user message or channel post: ``edited_message`` /
        ``edited_channel_post`` update. Returns the edited Message."""
        with self._cond:
            stored = self._stored(message)
            if (stored["chat"]["id"], stored["message_id"]) in self._bot_keys:
                raise AssertionError("edit_text() edits user messages; the bot edits its own")
            stored["text"] = new_text
            entities = detect_entities(new_text)
            if entities:
                stored["entities"] = entities
            else:
                stored.pop("entities", None)
            stored["edit_date"] = int(time.time())
            chat = self._chats[stored["chat"]["id"]]
            if chat.type == "channel":
                if chat.bot_status in ("administrator", "member"):
                    self._enqueue("edited_channel_post", stored)
            elif self._should_deliver(chat, stored):
                self._enqueue("edited_message", stored)
            return copy.deepcopy(stored)

    def press_button(
        self, user: UserRef, message: JSON, callback_data: str, *, check: bool = True
    ) -> str:
        """The user presses an inline button: a ``callback_query`` update carrying the
        message's current state. Returns the query id. With ``check`` the button must
        exist on the message right now (pressing removed buttons is impossible)."""
        with self._cond:
            sender = self._user(user)
            stored = self._stored(message)
            key = (stored["chat"]["id"], stored["message_id"])
            if check:
                buttons = [
                    button
                    for row in stored.get("reply_markup", {}).get("inline_keyboard", [])
                    for button in row
                ]
                if not any(b.get("callback_data") == callback_data for b in buttons):
                    available = [b.get("callback_data") for b in buttons if "callback_data" in b]
                    raise AssertionError(
                        f"message {key} has no button with callback_data={callback_data!r}; "
                        f"available: {available}"
                    )
            query_id = str(4_200_000_000_000_000_000 + next(self._query_ids))
            inline_id = next((k for k, v in self._inline_messages.items() if v == key), None)
            payload: JSON = {
                "id": query_id,
                "from": sender.to_dict(),
                "chat_instance": str(abs(key[0]) * 7919 % 10**18),
                "data": callback_data,
            }
            if inline_id is not None:
                payload["inline_message_id"] = inline_id
            else:
                payload["message"] = copy.deepcopy(stored)
            self._callbacks[query_id] = _CallbackQuery(
                query_id,
                sender.id,
                callback_data,
                None if inline_id else key[0],
                None if inline_id else key[1],
                inline_id,
                time.time(),
            )
            self._enqueue("callback_query", payload)
            return query_id

    def inline_query(
        self, user: UserRef, query: str, *, offset: str = "", chat_type: str | None = "sender"
    ) -> str:
        """The user types ``@bot query``: an ``inline_query`` update; returns its id."""
        with self._cond:
            if not self.supports_inline_queries:
                raise AssertionError("inline mode is disabled for this bot")
            sender = self._user(user)
            query_id = str(5_300_000_000_000_000_000 + next(self._query_ids))
            payload: JSON = {
                "id": query_id,
                "from": sender.to_dict(),
                "query": query,
                "offset": offset,
            }
            if chat_type:
                payload["chat_type"] = chat_type
            self._inline_queries[query_id] = _InlineQuery(query_id, sender.id, query, time.time())
            self._enqueue("inline_query", payload)
            return query_id

    def choose_inline_result(
        self, user: UserRef, query_id: str, result_id: str, chat: ChatRef | None = None
    ) -> JSON | None:
        """The user picks a result of an answered inline query: a ``chosen_inline_result``
        update; with ``chat`` the result is also posted there (``via_bot``) and returned."""
        with self._cond:
            sender = self._user(user)
            query = self._inline_queries.get(query_id)
            results = self._inline_results.get(query_id)
            if query is None or results is None:
                raise AssertionError(f"inline query {query_id} was not answered")
            result = next((r for r in results if str(r.get("id")) == result_id), None)
            if result is None:
                raise AssertionError(f"inline query {query_id} has no result {result_id!r}")
            chosen: JSON = {"result_id": result_id, "from": sender.to_dict(), "query": query.query}
            posted: JSON | None = None
            if chat is not None:
                content = self._inline_result_content(result)
                markup = result.get("reply_markup")
                target = self._chat(chat)
                posted = self._new_message(target, sender.to_dict(), None)
                posted["via_bot"] = self.bot_user
                posted.update(content)
                if markup:
                    posted["reply_markup"] = copy.deepcopy(markup)
                    inline_id = f"AgAAA{next(self._inline_message_ids):08d}EMU"
                    self._inline_messages[inline_id] = (target.id, posted["message_id"])
                    chosen["inline_message_id"] = inline_id
                self._store(posted)
                if self._should_deliver(target, posted):
                    self._enqueue("message", posted)
            self._enqueue("chosen_inline_result", chosen)
            return copy.deepcopy(posted) if posted is not None else None

    def channel_post(
        self, channel: ChatRef, text: str, *, author_signature: str | None = None
    ) -> JSON:
        """A post in a channel: ``channel_post`` update (when the bot is in the channel)
        and, with a linked discussion group, the automatic forward into it delivered as a
        ``message`` (``is_automatic_forward``). Returns the post; see automatic_forward()."""
        with self._cond:
            chat = self._chat(channel)
            if chat.type != "channel":
                raise ValueError("channel_post() needs a channel")
            post = self._new_message(chat, None, chat.to_dict())
            post["text"] = text
            entities = detect_entities(text)
            if entities:
                post["entities"] = entities
            if author_signature:
                post["author_signature"] = author_signature
            self._store(post)
            if chat.bot_status in ("administrator", "member"):
                self._enqueue("channel_post", post)
            self._auto_forward(post)
            return copy.deepcopy(post)

    def automatic_forward(self, post: JSON, timeout: float = 0.0) -> JSON:
        """The discussion-group copy of a channel post (optionally waiting for it)."""

        def find() -> JSON | None:
            key = self._auto_forwards.get((post["chat"]["id"], post["message_id"]))
            return copy.deepcopy(self._index[key]) if key in self._index else None

        return self._wait(find, timeout, f"no automatic forward of post {post['message_id']}")

    def comment(
        self, user: UserRef, discussion_group: ChatRef, forwarded_message: JSON, text: str
    ) -> JSON:
        """A comment under a channel post: a reply to the automatic forward in the
        discussion group, in its thread. ``forwarded_message`` may also be the post."""
        with self._cond:
            group = self._chat(discussion_group)
            target = forwarded_message
            if target["chat"]["id"] != group.id:
                key = self._auto_forwards.get((target["chat"]["id"], target["message_id"]))
                if key is None or key[0] != group.id:
                    raise AssertionError("that post was not forwarded to this discussion group")
                target = self._index[key]
            return self.send_text(user, group, text, reply_to=target)

    # ----------------------------------------------------------------- waiting helpers

    def wait_for_message(
        self, chat: ChatRef, predicate: Predicate | None = None, timeout: float = 10.0
    ) -> JSON:
        """The next message the bot sent in ``chat`` not returned before (matching
        ``predicate``), as it was when sent. Raises AssertionError with a dump on timeout."""
        with self._lock:
            chat_id = self._chat(chat).id

        def find() -> JSON | None:
            for position, snapshot in enumerate(self._bot_sent.get(chat_id, [])):
                key = (chat_id, position)
                if key in self._consumed:
                    continue
                candidate = copy.deepcopy(snapshot)
                if predicate is None or predicate(candidate):
                    self._consumed.add(key)
                    return candidate
            return None

        return self._wait(find, timeout, f"no new bot message in chat {chat_id}", chat_id)

    def wait_for_call(
        self, method: str, predicate: Callable[[Call], bool] | None = None, timeout: float = 10.0
    ) -> Call:
        """The next recorded call of ``method`` (case-insensitive) not returned before."""
        wanted = method.lower()

        def find() -> Call | None:
            for position, call in enumerate(self._calls):
                if position in self._consumed_calls or call.method.lower() != wanted:
                    continue
                if predicate is None or predicate(call):
                    self._consumed_calls.add(position)
                    return call
            return None

        return self._wait(find, timeout, f"no new {method} call")

    def wait_for_callback_answer(self, query_id: str, timeout: float = 10.0) -> JSON:
        """The answerCallbackQuery parameters for ``query_id`` (text, show_alert, ...)."""

        def find() -> JSON | None:
            record = self._callbacks.get(query_id)
            return dict(record.answer) if record and record.answer is not None else None

        return self._wait(find, timeout, f"callback query {query_id} was not answered")

    def wait_for_inline_answer(self, query_id: str, timeout: float = 10.0) -> JSON:
        """The answerInlineQuery parameters for ``query_id`` (results, cache_time, ...)."""

        def find() -> JSON | None:
            record = self._inline_queries.get(query_id)
            return copy.deepcopy(record.answer) if record and record.answer else None

        return self._wait(find, timeout, f"inline query {query_id} was not answered")

    def take_updates(self) -> list[JSON]:
        """Webhook mode: the queued updates, handed over to be pushed to the bot as Telegram
        pushes them (``tests/e2e/webhook_pusher.py``); they count as fetched."""
        with self._cond:
            taken, self._queue = self._queue, []
            if taken:
                self._max_fetched = max(self._max_fetched, taken[-1]["update_id"])
                self._last_activity = time.monotonic()
            return copy.deepcopy(taken)

    def wait_until_idle(self, timeout: float = 10.0, settle: float = 0.25) -> None:
        """Until every queued update was fetched by the bot, no request is in flight and
        nothing happened for ``settle`` seconds (so the bot finished reacting)."""

        def find() -> bool | None:
            unfetched = any(u["update_id"] > self._max_fetched for u in self._queue)
            quiet = time.monotonic() - self._last_activity >= settle
            return True if not unfetched and self._inflight == 0 and quiet else None

        self._wait(find, timeout, "the bot did not become idle", poll=settle / 2)

    # ----------------------------------------------------------------- inspection

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    @property
    def errors(self) -> list[Call]:
        """Rejected calls (excluding long polls superseded by a newer getUpdates)."""
        with self._lock:
            return [c for c in self._calls if not c.ok and not c.superseded]

    @property
    def conflicts(self) -> list[Call]:
        """getUpdates long polls terminated by a newer one (409 Conflict)."""
        with self._lock:
            return [c for c in self._calls if c.superseded]

    @property
    def updates(self) -> list[JSON]:
        """Every update ever queued, in order."""
        with self._lock:
            return copy.deepcopy(self._all_updates)

    @property
    def pending_updates(self) -> list[JSON]:
        """Queued updates not yet confirmed by the bot (getUpdates offset)."""
        with self._lock:
            return copy.deepcopy(self._queue)

    @property
    def commands(self) -> dict[tuple[str, str], list[JSON]]:
        """setMyCommands state: ``{(scope_key, language_code): [BotCommand, ...]}``.

        scope_key is "default", "all_private_chats", "all_group_chats",
        "all_chat_administrators", "chat:<id>", "chat_administrators:<id>" or
        "chat_member:<chat_id>:<user_id>"; language_code is "" when not given.
        """
        with self._lock:
            return copy.deepcopy(self._commands)

    @property
    def webhook(self) -> JSON | None:
        with self._lock:
            return copy.deepcopy(self._webhook)

    @property
    def menu_buttons(self) -> dict[int | None, JSON]:
        """setChatMenuButton state; key None is the bot's default menu button."""
        with self._lock:
            return copy.deepcopy(self._menu_buttons)

    def messages(self, chat: ChatRef) -> list[JSON]:
        """The chat history (user and bot messages, deleted ones removed), oldest first."""
        with self._lock:
            return copy.deepcopy(self._history.get(self._chat(chat).id, []))

    def bot_messages(self, chat: ChatRef) -> list[JSON]:
        """Every message the bot sent in the chat, as sent (including later deleted)."""
        with self._lock:
            return copy.deepcopy(self._bot_sent.get(self._chat(chat).id, []))

    def bot_message_count(self, chats: Iterable[ChatRef] | None = None) -> int:
        """How many messages the bot sent (in ``chats``, or anywhere), without copying them:
        cheap enough to poll while a benchmark runs."""
        with self._lock:
            if chats is None:
                return sum(map(len, self._bot_sent.values()))
            return sum(len(self._bot_sent.get(self._chat(c).id, [])) for c in chats)

    def get_message(self, chat: ChatRef, message_id: int) -> JSON | None:
        """The current state of a message (after edits), None if missing/deleted."""
        with self._lock:
            stored = self._index.get((self._chat(chat).id, message_id))
            return copy.deepcopy(stored) if stored is not None else None

    @property
    def deleted_messages(self) -> list[JSON]:
        with self._lock:
            return copy.deepcopy(self._deleted)

    def unanswered_callback_queries(self) -> list[str]:
        with self._lock:
            return [q.id for q in self._callbacks.values() if not q.answered]

    def unanswered_inline_queries(self) -> list[str]:
        with self._lock:
            return [q.id for q in self._inline_queries.values() if not q.answered]

    def callback_answer(self, query_id: str) -> JSON | None:
        with self._lock:
            record = self._callbacks.get(query_id)
            return dict(record.answer) if record and record.answer is not None else None

    def inline_answer(self, query_id: str) -> JSON | None:
        with self._lock:
            record = self._inline_queries.get(query_id)
            return copy.deepcopy(record.answer) if record and record.answer else None

    def get_commands(self, scope: str = "default", language_code: str = "") -> list[JSON]:
        with self._lock:
            return copy.deepcopy(self._commands.get((scope, language_code), []))

    def assert_clean(self, allowed_errors: Iterable[str] = ()) -> None:
        """Raise AssertionError if a call was rejected (injected faults and errors whose
        description contains one of ``allowed_errors`` excepted) or a callback query was
        left unanswered."""
        allowed = tuple(allowed_errors)
        with self._lock:
            rejected = [
                c
                for c in self.errors
                if not c.injected and not any(a in (c.description or "") for a in allowed)
            ]
            unanswered = self.unanswered_callback_queries()
            if rejected or unanswered:
                lines = ["the Bot API emulator saw problems:"]
                lines += [f"  rejected: {c.summary()}" for c in rejected]
                lines += [f"  unanswered callback query: {q}" for q in unanswered]
                raise AssertionError("\n".join(lines) + "\n" + self.dump())

    def inject_error(
        self,
        method: str,
        description: str = "Bad Request: injected failure",
        error_code: int = 400,
        *,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail (e.g. 429 with retry_after)."""
        if retry_after is not None and error_code == 400:
            error_code = 429
            if description == "Bad Request: injected failure":
                description = f"Too Many Requests: retry after {retry_after}"
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        with self._lock:
            self._faults.append(
                _Fault(method.lower(), ApiError(error_code, description, parameters), times)
            )

    def slow_down(self, method: str, seconds: float) -> None:
        """Make every call of ``method`` take ``seconds`` longer (0 to undo)."""
        with self._lock:
            self._latency[method.lower()] = seconds

    def dump(self, chat: ChatRef | None = None, limit: int = 20) -> str:
        """A human-readable state summary (used in timeout/assertion messages)."""
        with self._lock:
            lines = [
                f"--- emulator state: {len(self._queue)} unconfirmed update(s), fetched up to "
                f"#{self._max_fetched}, {self._inflight} request(s) in flight, "
                f"{len(self._calls)} call(s) ---"
            ]
            lines.append("last calls:")
            lines += [f"  {c.summary()}" for c in self._calls[-limit:]] or ["  (none)"]
            chat_ids = [self._chat(chat).id] if chat is not None else list(self._history)
            for chat_id in chat_ids[:5]:
                lines.append(f"chat {chat_id} history:")
                for msg in self._history.get(chat_id, [])[-limit:]:
                    author = "bot" if (chat_id, msg["message_id"]) in self._bot_keys else "user"
                    body = msg.get("text", msg.get("caption", "<media>"))
                    keyboard = msg.get("reply_markup", {}).get("inline_keyboard")
                    suffix = f" [keyboard: {keyboard}]" if keyboard else ""
                    lines.append(f"  #{msg['message_id']} {author}: {body!r}{suffix}")
            unanswered = [q.id for q in self._callbacks.values() if not q.answered]
            if unanswered:
                lines.append(f"unanswered callback queries: {unanswered}")
            return "\n".join(lines)

    # ----------------------------------------------------------------- internals: model

    @staticmethod
    def _bot_status(is_admin: bool, is_member: bool) -> str:
        if is_admin:
            return "administrator"
        return "member" if is_member else "left"

    def _user(self, ref: UserRef) -> User:
        if isinstance(ref, User):
            return self._users.setdefault(ref.id, ref)
        user_id = ref["id"] if isinstance(ref, dict) else ref
        user = self._users.get(int(user_id))
        if user is None:
            raise KeyError(f"unknown user {user_id}")
        return user

    def _chat(self, ref: ChatRef) -> Chat:
        if isinstance(ref, Chat):
            return self._chats.setdefault(ref.id, ref)
        chat_id = int(ref["id"] if isinstance(ref, dict) else ref)
        chat = self._chats.get(chat_id)
        if chat is None and chat_id in self._users:
            return self._private_chat(self._users[chat_id])
        if chat is None:
            raise KeyError(f"unknown chat {chat_id}")
        return chat

    def _private_chat(self, user: User) -> Chat:
        chat = self._chats.get(user.id)
        if chat is None:
            chat = Chat(
                user.id,
                "private",
                first_name=user.first_name,
                last_name=user.last_name,
                username=user.username,
            )
            self._chats[user.id] = chat
        return chat

    def _set_blocked(self, user: UserRef, *, blocked: bool) -> None:
        with self._cond:
            sender = self._user(user)
            chat = self._private_chat(sender)
            if chat.blocked == blocked:
                return
            chat.blocked = blocked
            old, new = ("member", "kicked") if blocked else ("kicked", "member")
            payload: JSON = {
                "chat": chat.to_dict(),
                "from": sender.to_dict(),
                "date": int(time.time()),
                "old_chat_member": self._member_dict(self.bot_user, old, chat),
                "new_chat_member": self._member_dict(self.bot_user, new, chat),
            }
            self._enqueue("my_chat_member", payload)

    def _stored(self, message: JSON) -> JSON:
        key = (int(message["chat"]["id"]), int(message["message_id"]))
        stored = self._index.get(key)
        if stored is None:
            raise AssertionError(f"message {key} does not exist (deleted?)")
        return stored

    def _new_message(self, chat: Chat, sender: JSON | None, sender_chat: JSON | None) -> JSON:
        message_id = self._next_message_id.get(chat.id, 1)
        self._next_message_id[chat.id] = message_id + 1
        message: JSON = {"message_id": message_id}
        if sender is not None:
            message["from"] = copy.deepcopy(sender)
        if sender_chat is not None:
            message["sender_chat"] = copy.deepcopy(sender_chat)
        message["chat"] = chat.to_dict()
        message["date"] = int(time.time())
        return message

    def _store(self, message: JSON) -> None:
        chat_id = message["chat"]["id"]
        self._history.setdefault(chat_id, []).append(message)
        self._index[(chat_id, message["message_id"])] = message
        self._last_activity = time.monotonic()
        self._cond.notify_all()

    @staticmethod
    def _reply_snapshot(message: JSON) -> JSON:
        snapshot = copy.deepcopy(message)
        snapshot.pop("reply_to_message", None)  # Telegram does not nest replies further
        return snapshot

    @staticmethod
    def _thread_of(reply_to: JSON | None) -> int | None:
        if reply_to is None:
            return None
        if reply_to.get("message_thread_id") is not None:
            return int(reply_to["message_thread_id"])
        if reply_to.get("is_automatic_forward"):
            return int(reply_to["message_id"])  # comment threads hang off the forward
        return None

    def _user_message(
        self, user: UserRef, chat: ChatRef, content: JSON, reply_to: JSON | int | None = None
    ) -> JSON:
        with self._cond:
            sender = self._user(user)
            target = self._chat(chat)
            if target.type == "channel":
                raise ValueError("users do not write in channels: use channel_post()")
            if target.type == "private":
                if target.id != sender.id:
                    raise ValueError("a private chat with the bot belongs to one user")
                target.opened = True
            elif target.members.get(sender.id) in (None, "left"):
                target.members[sender.id] = "member"
            replied: JSON | None = None
            if reply_to is not None:
                reply_id = reply_to if isinstance(reply_to, int) else reply_to["message_id"]
                replied = self._index.get((target.id, int(reply_id)))
                if replied is None:
                    raise AssertionError(f"message {reply_id} does not exist in chat {target.id}")
            message = self._new_message(target, sender.to_dict(), None)
            thread = self._thread_of(replied)
            if thread is not None and target.type == "supergroup":
                message["message_thread_id"] = thread
            if replied is not None:
                message["reply_to_message"] = self._reply_snapshot(replied)
            message.update(content)
            self._store(message)
            if self._should_deliver(target, message):
                self._enqueue("message", message)
            return copy.deepcopy(message)

    def _should_deliver(self, chat: Chat, message: JSON) -> bool:
        """Would Telegram send this (non-bot) group/private message to the bot?"""
        if chat.type == "private":
            return not chat.blocked
        if chat.bot_status not in ("administrator", "member"):
            return False
        if not self.privacy_mode or chat.bot_status == "administrator":
            return True
        if message.get("is_automatic_forward"):
            return True
        via_bot = message.get("via_bot") or {}
        if via_bot.get("id") == self.bot_id:
            return True
        replied = message.get("reply_to_message")
        if replied and (chat.id, replied["message_id"]) in self._bot_keys:
            return True
        text = message.get("text") or message.get("caption") or ""
        for entity in message.get("entities") or message.get("caption_entities") or []:
            fragment = text[entity["offset"] : entity["offset"] + entity["length"]]
            if entity["type"] == "bot_command":
                target = fragment.partition("@")[2]
                if not target or target.lower() == self.bot_username.lower():
                    return True
            if entity["type"] == "mention" and fragment[1:].lower() == self.bot_username.lower():
                return True
        return False

    def _enqueue(self, kind: str, payload: JSON) -> int:
        update_id = next(self._update_ids)
        update = {"update_id": update_id, kind: copy.deepcopy(payload)}
        self._queue.append(update)
        self._all_updates.append(update)
        self._last_activity = time.monotonic()
        self._cond.notify_all()
        return update_id

    def _update_allowed(self, update: JSON) -> bool:
        kind = next(k for k in update if k != "update_id")
        if self._allowed_updates is None:
            return kind not in DEFAULT_EXCLUDED_UPDATES
        return kind in self._allowed_updates

    def _auto_forward(self, post: JSON) -> None:
        channel = self._chats[post["chat"]["id"]]
        group = self._chats.get(channel.linked_chat_id) if channel.linked_chat_id else None
        if group is None:
            return
        forward = self._new_message(group, TELEGRAM_SERVICE_USER, channel.to_dict())
        origin: JSON = {
            "type": "channel",
            "chat": channel.to_dict(),
            "message_id": post["message_id"],
            "date": post["date"],
        }
        if post.get("author_signature"):
            origin["author_signature"] = post["author_signature"]
        forward["forward_origin"] = origin
        forward["is_automatic_forward"] = True
        for key in CONTENT_KEYS:
            if key in post:
                forward[key] = copy.deepcopy(post[key])
        self._store(forward)
        self._auto_forwards[(channel.id, post["message_id"])] = (group.id, forward["message_id"])
        if self._should_deliver(group, forward):
            self._enqueue("message", forward)

    def _png(self, width: int, height: int) -> bytes:
        key = (width, height)
        if key not in self._png_cache:
            self._png_cache[key] = make_png(width, height)
        return self._png_cache[key]

    def _store_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> _StoredFile:
        number = next(self._file_ids)
        extension = ""
        if file_name and "." in file_name:
            extension = "." + file_name.rsplit(".", 1)[1]
        elif kind == "photo":
            extension = ".jpg"
        stored = _StoredFile(
            file_id=f"EMU{kind[:3].upper()}{number:08d}AAQ-{self.bot_id}",
            file_unique_id=f"AQAD{number:08d}",
            kind=kind,
            data=data,
            file_path=f"{kind}s/file_{number}{extension}",
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        return stored

    def _photo_sizes(self, data: bytes, width: int, height: int) -> list[JSON]:
        sizes: list[JSON] = []
        seen: set[tuple[int, int]] = set()
        for limit in (90, 320, 800, 1280):
            scale = min(1.0, limit / max(width, height, 1))
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            if size in seen:
                continue
            seen.add(size)
            stored = self._store_file("photo", data, mime_type="image/jpeg")
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": len(data),
                    "width": size[0],
                    "height": size[1],
                }
            )
            if scale >= 1.0:
                break
        return sizes

    @staticmethod
    def _document_dict(stored: _StoredFile) -> JSON:
        document: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

    @staticmethod
    def _add_caption(content: JSON, caption: str | None) -> None:
        if caption:
            content["caption"] = caption
            entities = detect_entities(caption)
            if entities:
                content["caption_entities"] = entities

    def _member_dict(self, user: JSON, status: str, chat: Chat) -> JSON:
        member: JSON = {"status": status, "user": copy.deepcopy(user)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_stories=True,
                can_edit_stories=True,
                can_delete_stories=True,
            )
            if chat.type == "channel":
                member.update(can_post_messages=True, can_edit_messages=True)
            else:
                member.update(can_pin_messages=True)
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def _wait(
        self,
        find: Callable[[], _T | None],
        timeout: float,
        what: str,
        chat_id: int | None = None,
        poll: float = 0.5,
    ) -> _T:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = find()
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"timed out after {timeout:.1f}s: {what}\n{self.dump(chat_id)}"
                    )
                self._cond.wait(min(remaining, poll))

    # ----------------------------------------------------------------- internals: HTTP

    def _handle_http(
        self, verb: str, raw_path: str, headers: email.message.Message, body: bytes
    ) -> tuple[int, bytes, str]:
        started = time.time()
        parts = urllib.parse.urlsplit(raw_path)
        path = urllib.parse.unquote(parts.path)
        if path.startswith("/file/bot"):
            return self._serve_file(path[len("/file/bot") :])
        match = re.fullmatch(r"/bot([^/]*)/([^/]*)/?", path)
        if match is None:
            return self._json_error(ApiError(404, "Not Found"))
        token, method = match.groups()
        if token != self.token:
            # Telegram: 401 for a well-formed but wrong token, 404 for a malformed one.
            error = (
                ApiError(401, "Unauthorized")
                if re.fullmatch(r"\d+:[A-Za-z0-9_-]+", token)
                else ApiError(404, "Not Found")
            )
            self._record(Call(method, {}, started, note="wrong token"), error)
            return self._json_error(error)
        entry = self._methods.get(method.lower())
        if entry is None:
            error = ApiError(404, "Not Found")
            note = "unknown method (or one the emulator does not model)"
            self._record(Call(method, {}, started, note=note), error)
            return self._json_error(error)
        name, handler = entry
        try:
            params = self._parse_request(verb, parts.query, headers, body)
        except ApiError as error:
            self._record(Call(name, {}, started), error)
            return self._json_error(error)
        call = Call(name, self._describe_params(params), started)
        is_poll = name == "getUpdates"
        with self._lock:
            if not is_poll:
                self._inflight += 1
        try:
            result = self._invoke(name, handler, params, call)
        except ApiError as error:
            self._record(call, error)
            return self._json_error(error)
        except Exception as exc:  # an emulator bug must surface in the test, not hang it
            call.note = traceback.format_exc()
            crash = ApiError(500, f"Internal Server Error: emulator crashed: {exc!r}")
            self._record(call, crash)
            return self._json_error(crash)
        finally:
            with self._cond:
                if not is_poll:
                    self._inflight -= 1
                    self._last_activity = time.monotonic()
                self._cond.notify_all()
        self._record(call, None, result)
        return 200, json.dumps({"ok": True, "result": result}).encode(), "application/json"

    def _invoke(
        self, name: str, handler: Callable[[_Params], Any], params: _Params, call: Call
    ) -> Any:
        with self._lock:
            for fault in self._faults:
                if fault.method == name.lower() and fault.times > 0:
                    fault.times -= 1
                    call.injected = True
                    raise fault.error
        if name == "getUpdates":
            return self._get_updates(params, call)  # waits without holding the lock
        delay = self._latency.get(name.lower(), 0.0)
        if delay:
            time.sleep(delay)  # a slow Telegram, without holding the lock
        with self._lock:
            return handler(params)

    def _record(self, call: Call, error: ApiError | None, result: Any = None) -> None:
        with self._cond:
            call.duration = time.time() - call.time
            if error is None:
                call.ok = True
                call.result = copy.deepcopy(result)
            else:
                call.error_code = error.error_code
                call.description = error.description
            self._calls.append(call)
            self._cond.notify_all()

    @staticmethod
    def _json_error(error: ApiError) -> tuple[int, bytes, str]:
        payload: JSON = {
            "ok": False,
            "error_code": error.error_code,
            "description": error.description,
        }
        if error.parameters:
            payload["parameters"] = error.parameters
        return error.error_code, json.dumps(payload).encode(), "application/json"

    def _serve_file(self, rest: str) -> tuple[int, bytes, str]:
        token, _, file_path = rest.partition("/")
        if token != self.token:
            return self._json_error(ApiError(404, "Not Found"))
        with self._lock:
            stored = next((f for f in self._files.values() if f.file_path == file_path), None)
        if stored is None:
            return self._json_error(ApiError(404, "Not Found"))
        return 200, stored.data, stored.mime_type or "application/octet-stream"

    @staticmethod
    def _parse_request(
        verb: str, query: str, headers: email.message.Message, body: bytes
    ) -> _Params:
        values: JSON = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        files: dict[str, UploadedFile] = {}
        content_type = headers.get_content_type()
        if body:
            if content_type == "application/json":
                try:
                    decoded = json.loads(body)
                except ValueError:
                    raise _bad("can't parse JSON object") from None
                if not isinstance(decoded, dict):
                    raise _bad("JSON object expected")
                values.update(decoded)
            elif content_type == "multipart/form-data":
                boundary = headers.get_param("boundary")
                if not isinstance(boundary, str):
                    raise _bad("multipart boundary is missing")
                form, files = _parse_multipart(body, boundary)
                values.update(form)
            else:  # application/x-www-form-urlencoded (also the default)
                text = body.decode("utf-8", "surrogateescape")
                values.update(urllib.parse.parse_qsl(text, keep_blank_values=True))
        return _Params(_decode_json_params(values), files)

    @staticmethod
    def _describe_params(params: _Params) -> JSON:
        described = copy.deepcopy(params.values)
        for name, upload in params.files.items():
            described[name] = {
                "upload": upload.filename,
                "content_type": upload.content_type,
                "size": len(upload.data),
            }
        return described
