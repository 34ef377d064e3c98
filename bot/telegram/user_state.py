"""Each user's conversation state, kept across restarts in a private file.

PTB's PicklePersistence, for user data only, with three changes a clinic needs: the file is
written whole (a temporary file, then renamed) and readable by the bot's user only (it may
hold a patient's question), and a damaged file is moved aside with a warning instead of
stopping the bot: losing "waiting for your question" is far better than not answering.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from telegram.ext import PersistenceInput, PicklePersistence

log = logging.getLogger(__name__)

WRITE_INTERVAL = 1.0  # seconds between writes of changed state


class UserStatePersistence(PicklePersistence[Any, Any, Any]):
    """User data only, in one private file written atomically."""

    def __init__(self, path: Path) -> None:
        if not path.parent.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        super().__init__(
            path,
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=WRITE_INTERVAL,
        )

    def _load_singlefile(self) -> None:
        try:
            super()._load_singlefile()
        except TypeError as exc:  # PTB's wrapper for a file that does not unpickle
            aside = self.filepath.with_name(self.filepath.name + ".damaged")
            log.warning("conversation state unreadable (%s): moved to %s", exc, aside.name)
            self.filepath.replace(aside)
            super()._load_singlefile()  # no file now: empty state

    def _dump_singlefile(self) -> None:
        data = {
            "conversations": self.conversations,
            "user_data": self.user_data,
            "chat_data": self.chat_data,
            "bot_data": self.bot_data,
            "callback_data": self.callback_data,
        }
        handle, temporary = tempfile.mkstemp(dir=self.filepath.parent, prefix=".state-")
        try:
            with os.fdopen(handle, "wb") as file:  # mkstemp: readable by us only
                pickle.dump(data, file, protocol=pickle.HIGHEST_PROTOCOL)
            Path(temporary).replace(self.filepath)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
