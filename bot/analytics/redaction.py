"""Remove phone numbers and e-mail addresses from a question before it is stored."""

from __future__ import annotations

import re

PHONE = "[phone]"
EMAIL = "[email]"

# The lookbehind starts a match only at the beginning of a run of address characters, which
# keeps a long message without "@" linear instead of quadratic.
_EMAIL = re.compile(r"(?<![\w.%+\-])[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z]{2,}")
# A run of digit groups joined by phone-style separators: "+44 (0)20 7946-0958", "555.123.4567",
# "07700 900123". A dot only joins digits ("call 0123 456789. 2 sessions" keeps the "2").
_GROUP = r"(?:\(\d{1,5}\)|\d+)"
_SPACE = r"[ \t\u00a0]"
_SEPARATOR = rf"(?:{_SPACE}?[\-\u2010-\u2015]{_SPACE}?|\.(?=\d)|{_SPACE}{{1,2}}|(?<=\)))"
_NUMBER_RUN = re.compile(
    rf"(?<![\w£$€¥+@/.])(?:\+{_SPACE}?)?{_GROUP}(?:{_SEPARATOR}{_GROUP})*(?![\w])",
)
# Shapes that look like a number run but are dates or year ranges: "12.05.2024", "2019-2021".
_DATE = re.compile(r"\d{1,4}([./\-])\d{1,2}\1\d{1,4}|\d{4}-\d{2}-\d{2}")
_YEARS = re.compile(r"(?:19|20)\d\d(?:\s*[\-\u2013/ ]\s*(?:19|20)\d\d)?")
# E.164 numbers have at most 15 digits; 7 is the shortest local number worth hiding.
_MIN_DIGITS = 7
_MAX_DIGITS = 15


def redact(text: str) -> str:
    """``text`` with phone numbers replaced by "[phone]" and e-mail addresses by "[email]"."""
    text = _EMAIL.sub(EMAIL, text)
    return _NUMBER_RUN.sub(_phone_or_number, text)


def _phone_or_number(match: re.Match[str]) -> str:
    run = match.group(0)
    digits = sum(c.isdigit() for c in run)
    if not _MIN_DIGITS <= digits <= _MAX_DIGITS:
        return run  # "2 sessions", "£95", "10 weeks", an order of magnitude too long
    if not run.startswith("+") and (_DATE.fullmatch(run) or _YEARS.fullmatch(run)):
        return run
    return PHONE
