"""Analytics events for tests: one call with the fields a test cares about, the rest typical."""

from __future__ import annotations

from bot.analytics.records import Source
from bot.analytics.store import EventStore
from bot.engine import ReplyKind


def record_event(
    store: EventStore,
    *,
    user_id: int | None = 1,
    kind: ReplyKind = ReplyKind.ANSWER,
    intent_id: str | None = "pricing",
    score: float = 90.0,
    source: Source = Source.PRIVATE,
    chat_type: str = "private",
    text: str | None = None,
    tag: str | None = None,
) -> int:
    """Record one event (an answered private question about prices, unless told otherwise)."""
    return store.record(
        user_id=user_id,
        chat_type=chat_type,
        source=source,
        decision=kind,
        intent_id=intent_id,
        score=score,
        tag=tag,
        text=text,
    )
