"""A hung Telegram call holds up only its own chat; each chat's updates stay in order.

Updates go through PTB's real update queue and update processor (the Application started),
as they do when the bot runs, not straight into ``process_update``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Update

from bot.content.knowledge import Knowledge
from tests.support.harness import Harness, message_dict, offline_bot

PATIENT_A, PATIENT_B = 101, 202
ADMIN = 303
WAIT = 5.0  # far longer than any of these takes; reached only when something hangs


@pytest.fixture
async def running(knowledge: Knowledge) -> AsyncIterator[Harness]:
    async with offline_bot(knowledge) as bot:
        await bot.application.start()
        try:
            yield bot
        finally:
            for held in bot.request.hold_chats.values():
                held.set()
            await bot.application.stop()
    assert bot.errors == []


async def queue(bot: Harness, update_id: int, text: str, user_id: int) -> None:
    data: dict[str, Any] = {"update_id": update_id, "message": message_dict(text, user_id)}
    await bot.application.update_queue.put(Update.de_json(data, bot.application.bot))


async def replies_to(bot: Harness, chat_id: int, count: int = 1) -> list[str]:
    """The texts sent to a chat once ``count`` of them went out (fails after WAIT)."""

    async def sent() -> list[str]:
        while True:
            texts = [p["text"] for p in bot.request.sent() if p["chat_id"] == chat_id]
            if len(texts) >= count:
                return texts
            await asyncio.sleep(0.01)

    return await asyncio.wait_for(sent(), WAIT)


async def test_a_hung_send_holds_up_only_its_own_chat(
    running: Harness, knowledge: Knowledge
) -> None:
    hung = running.request.hold_chats[PATIENT_A] = asyncio.Event()
    await queue(running, 1, "how much is it?", PATIENT_A)
    await queue(running, 2, "does it hurt", PATIENT_B)
    assert await replies_to(running, PATIENT_B) == [knowledge.responses["does_it_hurt"].answer]
    hung.set()  # Telegram answers at last: A's answer was sent once, and nothing else hung
    assert await replies_to(running, PATIENT_A) == [knowledge.responses["pricing"].answer]


async def test_one_chats_updates_are_handled_in_the_order_sent(
    running: Harness, knowledge: Knowledge
) -> None:
    slow = running.request.hold_chats[PATIENT_A] = asyncio.Event()
    for update_id, text in enumerate(["how much is it?", "does it hurt", "where are you"], 1):
        await queue(running, update_id, text, PATIENT_A)
    await asyncio.sleep(0.2)  # the later two would be under way now, if they could overtake
    assert await replies_to(running, PATIENT_A) == [knowledge.responses["pricing"].answer]
    slow.set()
    expected = [knowledge.responses[i].answer for i in ("pricing", "does_it_hurt")]
    assert (await replies_to(running, PATIENT_A, 3))[:2] == expected


async def test_drawing_the_stats_chart_does_not_hold_up_patients(
    knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/stats draws its chart in a worker thread: a slow chart delays only that reply."""
    from bot.telegram import admin

    drawn = admin.stats_chart_png
    started = threading.Event()

    def slow_chart(*args: Any) -> bytes:
        started.set()
        time.sleep(1.5)  # blocks the thread it runs in: the event loop must not be that thread
        return drawn(*args)

    monkeypatch.setattr(admin, "stats_chart_png", slow_chart)
    async with offline_bot(knowledge, admin_ids=frozenset({ADMIN})) as bot:
        await bot.application.start()
        try:
            await queue(bot, 1, "/stats", ADMIN)
            await asyncio.wait_for(asyncio.to_thread(started.wait), WAIT)
            await queue(bot, 2, "does it hurt", PATIENT_B)
            replies = await replies_to(bot, PATIENT_B)
            assert replies == [knowledge.responses["does_it_hurt"].answer]
            assert bot.request.sent("sendPhoto") == []  # the chart is still being drawn
            photos = asyncio.wait_for(_photo_sent(bot), WAIT)
            assert (await photos)["chat_id"] == ADMIN
        finally:
            await bot.application.stop()


async def _photo_sent(bot: Harness) -> dict[str, Any]:
    while not bot.request.sent("sendPhoto"):
        await asyncio.sleep(0.02)
    return bot.request.sent("sendPhoto")[0]
