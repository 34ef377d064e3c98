"""Typed callback data: every kind of button reads back its own data, and only its own."""

from __future__ import annotations

import pytest

from bot.telegram.keyboards import (
    Answer,
    Feedback,
    Handoff,
    NoneOfThese,
    Publish,
    Teach,
    TeachMenu,
    TeachTo,
    Topics,
    Unlearn,
)

KINDS = (
    Answer,
    NoneOfThese,
    Topics,
    Feedback,
    Handoff,
    Publish,
    Teach,
    TeachMenu,
    TeachTo,
    Unlearn,
)
BUTTONS = (
    Answer("pricing"),
    NoneOfThese(),
    Topics(),
    Topics(3),
    Feedback(576_460_752_303_423_488, helpful=True),  # the largest event id, 18 digits
    Feedback(1, helpful=False),
    Handoff(),
    Handoff("send"),
    Handoff("new"),
    Publish("pricing"),
    Publish(None),
    Teach("add", 0),
    Teach("out", 9),
    Teach("skip", 999),
    Teach("todo", 1),
    Teach("other", 2),
    TeachMenu(3, 1),
    TeachTo(3, "location_hours"),
    Unlearn(123_456_789),
)


@pytest.mark.parametrize("button", BUTTONS, ids=lambda b: b.pack())
def test_a_button_is_routed_to_its_own_kind_and_reads_back(button: object) -> None:
    packed = button.pack()  # type: ignore[attr-defined]
    assert len(packed.encode()) <= 64  # Telegram's limit for callback data
    assert [kind for kind in KINDS if kind.PATTERN.match(packed)] == [type(button)]
    parse = getattr(type(button), "parse", None)
    if parse is not None:
        assert parse(packed) == button


@pytest.mark.parametrize("data", ["", "a:", "a:Pricing", "t:x", "f:1:maybe", "h:later", "zz"])
def test_data_of_no_kind_is_left_to_the_out_of_date_handler(data: str) -> None:
    assert not any(kind.PATTERN.match(data) for kind in KINDS)
