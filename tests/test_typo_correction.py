"""Typo correction against the content's own words, and typos inside the content."""

from __future__ import annotations

from bot.nlu.normalizer import TextNormalizer


def corpus(*lines: tuple[str, int]) -> list[str]:
    """Example texts: each line repeated the given number of times."""
    return [text for text, times in lines for _ in range(times)]


def test_of_two_close_words_the_one_the_content_uses_most_is_meant() -> None:
    # "prise" is nearer "promise" (83) than "price" (80), but people ask about prices.
    normalizer = TextNormalizer({}, corpus(("what is the price", 30), ("we promise", 1)))
    assert normalizer.canonical_tokens("whats the prise") == ["what", "the", "price"]


def test_a_misspelt_example_word_is_read_as_the_word_it_misspells() -> None:
    examples = corpus(("what is acupuncture", 40), ("wat is acupunture", 1))
    normalizer = TextNormalizer({}, examples)
    # The example and a question with the same typo both read the right word.
    assert normalizer.canonical_tokens("wat is acupunture") == ["wat", "is", "acupuncture"]
    # A question's typo that lands nearest the misspelt example word is read right too.
    assert normalizer.canonical_tokens("acupuntur") == ["acupuncture"]


def test_real_and_related_words_in_the_content_are_left_alone() -> None:
    examples = corpus(
        ("does it help with consultation", 40),
        ("does it help constipation", 1),  # an English word, however close
        ("how long is the station", 40),
        ("on statins", 1),  # not close enough to be a typo of a content word
        ("learn more", 40),
        ("a slow learner", 1),  # one word inside the other is another word
    )
    normalizer = TextNormalizer({}, examples)
    for word in ("constipation", "statins", "learner"):
        assert normalizer.corrected_words(word) == [word]
