"""Every sentence of the content is our own: no run of words copied from the seed article."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.content.html_text import plain_text
from bot.content.knowledge import Knowledge
from bot.content.phrasing import basic_tokens

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed"
RUN = 6  # words in a row that would make a copied phrase


def runs(text: str) -> set[tuple[str, ...]]:
    words = basic_tokens(text)
    return {tuple(words[i : i + RUN]) for i in range(len(words) - RUN + 1)}


def test_no_phrase_of_the_article_is_copied(knowledge: Knowledge) -> None:
    articles = sorted(SEED.glob("*.txt")) if SEED.is_dir() else []
    if not articles:
        pytest.skip("the seed article is not beside this checkout")
    article = set().union(*(runs(path.read_text(encoding="utf-8")) for path in articles))
    texts = [r.answer for r in knowledge.responses.values()] + list(knowledge.messages.values())
    copied = [" ".join(run) for text in texts for run in runs(plain_text(text)) & article]
    assert copied == []
