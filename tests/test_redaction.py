"""Phone numbers and e-mail addresses never reach the database; ordinary numbers stay."""

from __future__ import annotations

import time

import pytest

from bot.analytics.redaction import redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call me on +44 20 7946 0958 please", "call me on [phone] please"),
        ("+44 (0)20 7946-0958", "[phone]"),
        ("my number: (020) 7946 0958", "my number: [phone]"),
        ("07700 900123", "[phone]"),
        ("07700900123", "[phone]"),
        ("ring 555.123.4567 after 5", "ring [phone] after 5"),
        ("it's 555-0100", "it's [phone]"),
        ("+1-555-123-4567", "[phone]"),
        ("+7 (912) 345-67-89", "[phone]"),
        ("0049 30 1234567", "[phone]"),
        ("tel:+33 1 23 45 67 89", "tel:[phone]"),
        ("no\u00a0space: +44\u00a07700\u00a0900123", "no\u00a0space: [phone]"),
        # the sentence goes on after the number: only the number goes
        ("text 07700 900123. 2 sessions left", "text [phone]. 2 sessions left"),
        # shapes that used to slip through
        ("07700900123 07700900124", "[phone]"),  # two numbers joined
        ("wa.me/447700900123", "wa.me/[phone]"),
        ("07700/900123", "[phone]"),
        ("07700_900123", "[phone]"),
        ("0612-34-5678", "[phone]"),  # 34 is no month or day: not a date
        ("call 2012 2034", "call [phone]"),
        ("card 4111 1111 1111 1111 exp 12/27", "card [phone] exp 12/27"),
        ("4111-1111-1111-1111", "[phone]"),
    ],
)
def test_phone_numbers_are_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe@example.com", "write to [email]"),
        ("Jane.Doe+spa@mail.example.co.uk!", "[email]!"),
        ("me@clinic.org or 07700 900123", "[email] or [phone]"),
        ("a.b_c-d99@sub-domain.example.io, thanks", "[email], thanks"),
        ("jane@пример.рф", "[email]"),  # an internationalised domain
        ("mail jane[at]gmail.com", "mail [email]"),
        ("mail jane (at) gmail (dot) com", "mail [email]"),
        ("jane @ gmail.com", "[email]"),
        ("jane\uff20gmail.com", "[email]"),  # fullwidth at sign
        ("jane at gmail dot com please", "[email] please"),
    ],
)
def test_email_addresses_are_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I had 2 sessions",
        "is it £95 or £120?",
        "£1,200 for a course of 10 weeks",
        "10 weeks pregnant",
        "I'm 45 and had 3 sessions in 2023",
        "between 2019-2021 I went weekly",
        "on 12.05.2024 at 10:30",
        "my appointment is 2024-06-01",
        "room 12345",
        "6-8 sessions, 30 minutes each",
        "1 2 3",
        "I arrive at 10 and leave at 11",
        "look at the website dot points",
        "sessions on 1/2/24 and 15-06-2024",
    ],
)
def test_ordinary_numbers_are_kept(text: str) -> None:
    assert redact(text) == text


def test_text_without_personal_data_is_unchanged() -> None:
    text = "Can I wear make-up after the session? 🙂"
    assert redact(text) == text


@pytest.mark.parametrize("text", ["7" * 100_000, "ab1-" * 25_000, "x." * 50_000 + "@"])
def test_long_messages_are_redacted_quickly(text: str) -> None:
    started = time.perf_counter()
    redact(text)
    assert time.perf_counter() - started < 1.0
