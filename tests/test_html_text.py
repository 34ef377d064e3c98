"""Telegram's HTML subset: what is refused, how length is counted, how long text is split."""

from __future__ import annotations

import pytest

from bot.content.html_text import html_problems, plain_text, split_message, visible_length


@pytest.mark.parametrize(
    "text",
    [
        "<b>bold</b> and <i>italic</i>",
        '<a href="https://example.org">link</a>',
        "5 &lt; 6 &amp; 7",
        "<blockquote expandable>q</blockquote>",
    ],
)
def test_valid_html(text: str) -> None:
    assert html_problems(text) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<b>open", "<b> is never closed"),
        ("<b><i>x</b></i>", "closing </b> does not match"),
        ("line<br>break", "tag <br> is not supported"),
        ("fish & chips", "bare '&'"),
        ("1 < 2", "bare '<'"),
        ('<a href="javascript:alert(1)">x</a>', "link must start with"),
        ("&nbsp;", "unsupported entity"),
    ],
)
def test_invalid_html_is_explained(text: str, problem: str) -> None:
    assert any(problem in p for p in html_problems(text))


def test_visible_length_counts_utf16_units_without_tags() -> None:
    assert visible_length("<b>ab</b> &amp;") == 4
    assert visible_length("🙂") == 2  # outside the BMP: two UTF-16 code units


def test_long_text_is_split_at_paragraphs_within_the_limit() -> None:
    paragraphs = [f"<b>Part {n}</b> " + "word " * 150 for n in range(12)]
    text = "\n\n".join(paragraphs)
    parts = split_message(text, limit=1000)
    assert len(parts) > 1
    assert all(visible_length(part) <= 1000 and html_problems(part) == [] for part in parts)
    assert plain_text("\n\n".join(parts)) == plain_text(text)


def test_a_single_huge_line_is_cut_as_escaped_text() -> None:
    parts = split_message("a<b " * 3000, limit=4096)
    assert all(visible_length(part) <= 4096 and html_problems(part) == [] for part in parts)
