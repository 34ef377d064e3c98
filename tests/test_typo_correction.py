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
    assert normalizer.canonical_tokens("wat is acupunture") == ["what", "is", "acupuncture"]
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


def test_two_swapped_letters_are_one_typo() -> None:
    # "wrsit" shares as many letters with "write" as with "wrist", but only one swap
    # separates it from "wrist"; the content's preference for "write" does not matter.
    normalizer = TextNormalizer({}, corpus(("can i write to you", 40), ("my wrist hurts", 2)))
    assert normalizer.corrected_words("wrsit") == ["wrist"]
    # Short words too: "pian" is "pain" with two letters swapped.
    assert normalizer.corrected_words("pian") == ["pian"]  # no "pain" in this content
    assert TextNormalizer({}, corpus(("does it cause pain", 5))).canonical_tokens(
        "does it cuase pian"
    ) == ["does", "it", "cause", "pain"]


def test_a_dropped_letter_reads_as_the_longer_word() -> None:
    # "needl" is one letter from "need" and from "needle": a letter dropped from the end
    # of "needle" is likelier than one added to "need".
    normalizer = TextNormalizer({}, corpus(("i need help", 40), ("how thin is the needle", 5)))
    assert normalizer.corrected_words("needl") == ["needle"]


def test_a_wrong_first_letter_is_corrected_in_a_longer_word() -> None:
    normalizer = TextNormalizer({}, corpus(("what are the results", 20), ("run some tests", 20)))
    assert normalizer.corrected_words("tesults") == ["results"]
    assert normalizer.corrected_words("esults") == ["results"]  # first letter missing


def test_first_letter_corrections_keep_real_words_and_add_no_letters() -> None:
    examples = corpus(("are the needles metal", 20), ("what is the price", 30), ("rise", 40))
    normalizer = TextNormalizer({}, examples)
    # A rare English word is meant as typed, whatever word another first letter makes.
    assert normalizer.corrected_words("petal") == ["petal"]
    # A letter too many in front is not a typo we look for: "prise" is "price", not "rise".
    assert normalizer.corrected_words("prise") == ["price"]


def test_chat_shorthand_reads_as_the_word_even_where_the_examples_use_it() -> None:
    examples = corpus(("how much do you charge", 20), ("how much do u charge", 3))
    normalizer = TextNormalizer({}, examples)
    # The examples that say "u" and the questions that say "you" share the word.
    assert normalizer.canonical_tokens("do u charge") == ["do", "you", "charge"]


def test_shorthand_that_is_also_a_word_is_left_alone_where_the_content_uses_it() -> None:
    examples = corpus(("saw your instagram post", 5), ("what to do after a session", 5))
    assert TextNormalizer({}, examples).corrected_words("your post") == ["your", "post"]
    assert TextNormalizer({}, corpus(("after a session", 5))).corrected_words("post session") == [
        "after",
        "session",
    ]
