"""Every update handled exactly once, across crashes and redeliveries.

Long polling tells Telegram an update is received as soon as the next batch is asked for,
long before it is handled: a process killed in between lost those updates for good. Now
each fetched batch is written to the database's inbox first (``keep_fetched``), an update
is marked handled when its handlers have run (``InboxApplication``), and on start the
unhandled ones are handled (``replay``). An update seen handled before (a replay that
Telegram also redelivers, a webhook retry) is skipped.

Writes go through the database thread (``bot.analytics.background``); only the check "handled
before?" reads on the event loop: an indexed read, which in WAL mode never waits for another
process's write lock, and which must not queue behind writes that do.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.analytics.background import DatabaseWorker
from bot.telegram import services

log = logging.getLogger(__name__)

# Update ids remembered in memory; older ones are checked in the database only.
TAKEN_LIMIT = 10_000


class InboxApplication(Application[Any, Any, Any, Any, Any, Any]):
    """PTB's Application that skips handled updates and marks each one handled."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Update ids this process took on, most recent last: a redelivery can arrive while
        # the first copy is still being handled (chats are handled side by side), or before
        # its "handled" mark reached the database.
        self._taken: OrderedDict[int, None] = OrderedDict()

    async def process_update(self, update: object) -> None:
        database = self.bot_data.get(services.STORE)
        if not isinstance(update, Update) or not isinstance(database, DatabaseWorker):
            await super().process_update(update)
            return
        if update.update_id in self._taken or database.store.inbox_handled(update.update_id):
            log.info("update %d was handled already: skipped", update.update_id)
            return
        self._taken[update.update_id] = None
        if len(self._taken) > TAKEN_LIMIT:
            self._taken.popitem(last=False)
        try:
            await super().process_update(update)
        finally:
            # Handled, well or not (errors went to the error handler): never twice.
            database.later(database.store.inbox_done, update.update_id)


async def keep_fetched(database: DatabaseWorker, payload: bytes) -> None:
    """Write a getUpdates answer's updates to the inbox before PTB hands them out (waiting
    for the database thread, not on it: the updates already fetched are answered meanwhile)."""
    try:
        answer = json.loads(payload)
    except ValueError:
        return
    updates = answer.get("result") if isinstance(answer, dict) else None
    if not isinstance(updates, list):
        return
    await database.call(
        database.store.inbox_receive,
        [
            (int(item["update_id"]), json.dumps(item, ensure_ascii=False))
            for item in updates
            if isinstance(item, dict) and isinstance(item.get("update_id"), int)
        ],
    )


async def replay(application: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """Queue the updates fetched but never handled (the last process died); return how many."""
    database = application.bot_data.get(services.STORE)
    if not isinstance(database, DatabaseWorker):
        return 0
    pending = await database.call(database.store.inbox_pending)
    for body in pending:
        await application.update_queue.put(Update.de_json(json.loads(body), application.bot))
    if pending:
        log.info("handling %d update(s) fetched before the last stop", len(pending))
    return len(pending)
