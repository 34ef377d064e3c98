"""The bot's typed context: what every handler reaches through ``context``.

As PTB's ``contexttypesbot.py`` example does, three classes registered with ``ContextTypes``:

* ``BotData``: the services of one running bot (engine, database, settings), built at start
  and never kept across restarts;
* ``UserData``: one user's conversation state, kept in the database across restarts
  (``user_state.py``);
* ``BotContext``: ``context.engine``, ``context.database``, ``context.settings`` for handlers.

mypy strict checks every use, where string keys into ``bot_data`` and ``user_data`` dicts
checked nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.analytics.background import DatabaseWorker
from bot.content.knowledge import Knowledge
from bot.engine import DialogueEngine
from bot.telegram.settings import BotSettings

# "Type your question for the team" is forgotten after this long, or at the next command.
AWAIT_SECONDS = 15 * 60
MAX_CLARIFIED = 20  # "did you mean" messages whose question is remembered


class BotData:
    """The services of the running bot; ``build_application`` sets them all."""

    engine: DialogueEngine  # swapped by /reload: never keep a reference across updates
    content: Knowledge  # the content files' knowledge, before the phrasings taught in /gaps
    database: DatabaseWorker  # every call through its own thread, never on the event loop
    settings: BotSettings
    content_dir: Path  # where /reload reads the content from

    def __init__(self) -> None:
        self.discussion_chat_id: int | None = None  # the channel's linked group, once known
        self.staff_unreachable = False  # the staff chat failed: no "Talk to a person"
        self.store_damaged: str | None = None  # why the database could not be opened
        self.token_rejected = False  # Telegram answered 401 while running
        # Stops the running bot cleanly (webhook mode sets it; polling uses stop_running).
        self.stop: Callable[[], None] | None = None
        # The knowledge version this worker answers with (see teaching.follow_changes).
        self.knowledge_version: str | None = None


@dataclass(frozen=True)
class GapCard:
    """One group of unanswered questions, as /gaps showed it to an admin."""

    examples: tuple[str, ...]
    nearest: str | None  # the closest topic's id
    count: int


@dataclass
class UserData:
    """One user's conversation state (no services: it is pickled into the database)."""

    # When "type your question for the team" was asked; the next private text goes to staff.
    awaiting_since: float | None = None
    # The last question the bot could not answer, for "Talk to a person".
    last_unanswered: str | None = None
    # "did you mean" message id -> the question it was about, for its "None of these".
    clarified: dict[int, str] = field(default_factory=dict)
    # An admin's /gaps review: the groups shown, in order (their patients' words, redacted).
    review: list[GapCard] = field(default_factory=list)

    def await_question(self) -> None:
        self.awaiting_since = time.time()

    def takes_question(self) -> bool:
        """Whether the next text is for the team (asked in the last AWAIT_SECONDS); once."""
        since, self.awaiting_since = self.awaiting_since, None
        return since is not None and time.time() - since <= AWAIT_SECONDS

    def remember_clarified(self, message_id: int, question: str) -> None:
        self.clarified[message_id] = question
        for old in list(self.clarified)[:-MAX_CLARIFIED]:
            del self.clarified[old]

    def drop_questions(self) -> bool:
        """Forget the patients' words kept here (the daily purge); whether there were any."""
        had = self.last_unanswered is not None or bool(self.clarified) or bool(self.review)
        self.last_unanswered = None
        self.clarified = {}
        self.review = []
        return had

    def clear(self) -> None:
        """Forget this user's whole conversation state (/forget)."""
        self.awaiting_since = None
        self.drop_questions()

    def is_empty(self) -> bool:
        return self == UserData()


class BotContext(CallbackContext[ExtBot[None], UserData, dict[Any, Any], BotData]):
    """PTB's CallbackContext with typed access to the bot's services."""

    @property
    def engine(self) -> DialogueEngine:
        return self.bot_data.engine

    @property
    def database(self) -> DatabaseWorker:
        return self.bot_data.database

    @property
    def settings(self) -> BotSettings:
        return self.bot_data.settings

    @property
    def user(self) -> UserData:
        """This update's user's state (a throwaway one for updates without a user)."""
        return self.user_data if self.user_data is not None else UserData()

    @property
    def staff_chat_id(self) -> int | None:
        """The staff chat, when one is set and was reachable when last tried."""
        return None if self.bot_data.staff_unreachable else self.settings.staff_chat_id


# The bot's Application, as far as its types matter here (its bot and context are PTB's).
BotApplication = Application[Any, Any, UserData, dict[Any, Any], BotData, Any]
