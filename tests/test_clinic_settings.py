"""Clinic facts derived from the settings: opening hours text and when the clinic next opens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.content.settings import derive_settings, describe_moment, next_opening

SETTINGS: dict[str, Any] = {
    "clinic": {
        "name": "Test",
        "timezone": "Europe/London",
        "opening_hours": {
            "monday": "09:00-17:00",
            "tuesday": "09:00-17:00",
            "saturday": "10:00-13:00",
        },
    }
}


def test_hours_summary_is_derived() -> None:
    hours = derive_settings(SETTINGS)["clinic"]["hours"]
    assert hours == "Mon-Tue 09:00-17:00, Sat 10:00-13:00; closed Wed-Fri, Sun"


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-11-30T10:00:00+00:00", None),  # Monday morning: open
        ("2026-11-30T18:00:00+00:00", "tomorrow at 09:00"),  # Monday evening
        ("2026-12-02T12:00:00+00:00", "Saturday at 10:00"),  # Wednesday: closed until Saturday
        ("2026-12-05T13:30:00+00:00", "Monday at 09:00"),  # Saturday after closing
        ("2026-11-30T07:00:00+00:00", "today at 09:00"),  # Monday before opening
    ],
)
def test_next_opening(now: str, expected: str | None) -> None:
    moment = datetime.fromisoformat(now).astimezone(UTC)
    opening = next_opening(SETTINGS, moment)
    assert (describe_moment(opening, moment) if opening else None) == expected


def test_unknown_hours_never_claim_to_be_closed() -> None:
    assert next_opening({"clinic": {"name": "x"}}, datetime(2026, 1, 1, 3, tzinfo=UTC)) is None
