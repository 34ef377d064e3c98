"""Remove phone numbers, card numbers and e-mail addresses from a question before it is stored.

When in doubt, a number goes: a stored question only needs its words for the clinic to see
what people ask, and a patient's number must never sit in the database.
"""

from __future__ import annotations

import re

PHONE = "[phone]"
EMAIL = "[email]"

# "@" as typed, fullwidth, or spelled out: "jane@x.com", "jane\uff20x.com", "jane [at] x.com",
# "jane (at) x.com", "jane @ x.com", "jane at gmail dot com". \w is Unicode: IDN names too.
_AT = r"(?:\s?[@\uff20]\s?|\s?[\[(]at[\])]\s?|\s+at\s+)"
_DOT = r"(?:\.|\s?[\[(]dot[\])]\s?|\s+dot\s+)"
# The lookbehind starts a match only at the beginning of a run of address characters, which
# keeps a long message without "@" linear instead of quadratic.
_EMAIL = re.compile(
    rf"(?<![\w.%+\-])[\w.%+\-]+{_AT}[\w\-]+(?:{_DOT}[\w\-]+)*{_DOT}[^\W\d_]{{2,24}}\b",
    re.IGNORECASE,
)
# A run of digit groups joined by phone-style separators: "+44 (0)20 7946-0958",
# "555.123.4567", "07700 900123", "07700/900123", "07700_900123", "wa.me/447700900123".
# A dot only joins digits ("call 0123 456789. 2 sessions" keeps the "2").
_GROUP = r"(?:\(\d{1,5}\)|\d+)"
_SPACE = r"[ \t\u00a0]"
_SEPARATOR = rf"(?:{_SPACE}?[\-\u2010-\u2015/_]{_SPACE}?|\.(?=\d)|{_SPACE}{{1,2}}|(?<=\)))"
_NUMBER_RUN = re.compile(
    rf"(?<![\w£$€¥+@.])(?:\+{_SPACE}?)?{_GROUP}(?:{_SEPARATOR}{_GROUP})*(?![^\W_])",
)
# Year ranges ("2019-2021", "2019/20") are not phone numbers; "2012 2034" may well be one.
_YEARS = re.compile(r"(?:19|20)\d\d(?:\s*[\-\u2013/]\s*(?:(?:19|20)\d\d|\d\d))?")
_MIN_DIGITS = 7  # the shortest local number worth hiding


def redact(text: str) -> str:
    """``text`` with phone and card numbers replaced by "[phone]", e-mail addresses by
    "[email]"."""
    text = _EMAIL.sub(EMAIL, text)
    return _NUMBER_RUN.sub(_phone_or_number, text)


def _phone_or_number(match: re.Match[str]) -> str:
    run = match.group(0)
    digits = sum(c.isdigit() for c in run)
    if digits < _MIN_DIGITS:
        return run  # "2 sessions", "£95", "10 weeks", "6-8 sessions"
    if not run.startswith("+") and (_is_date(run) or _YEARS.fullmatch(run)):
        return run
    # Longer than any phone number: two numbers joined, or a card number. Both go.
    return PHONE


def _is_date(run: str) -> bool:
    """A calendar date written with one separator: 12.05.2024, 2024-06-01, 1/2/24."""
    for separator in "./-":
        parts = run.split(separator)
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            first, middle, last = (int(p) for p in parts)
            if len(parts[0]) == 4:  # year first
                return 1900 <= first <= 2099 and 1 <= middle <= 12 and 1 <= last <= 31
            year_ok = len(parts[2]) == 2 or 1900 <= last <= 2099
            day_month = (1 <= first <= 31 and 1 <= middle <= 12) or (
                1 <= first <= 12 and 1 <= middle <= 31
            )
            return year_ok and day_month and len(parts[2]) in (2, 4)
    return False
