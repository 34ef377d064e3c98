"""Frames that the out-of-scope examples would teach as "not ours" are pointed out."""

from __future__ import annotations

from pathlib import Path

from bot.content.balance import phrases_taught_as_out_of_scope
from bot.content.knowledge import Example, Intent, Knowledge
from bot.content.problems import SourceRef
from bot.nlu.language import STOPWORDS

HERE = SourceRef(Path("intents/x.yaml"), 1)


def examples(*texts: str) -> tuple[Example, ...]:
    return tuple(
        Example(text, SourceRef(Path("intents/x.yaml"), n)) for n, text in enumerate(texts, 1)
    )


def knowledge(topics: dict[str, tuple[str, ...]], out_of_scope: tuple[str, ...]) -> Knowledge:
    intents = {name: Intent(name, examples(*texts), HERE) for name, texts in topics.items()}
    return Knowledge(intents, {}, {}, {}, (), {}, out_of_scope=examples(*out_of_scope))


def test_a_frame_only_out_of_scope_examples_use_is_pointed_out() -> None:
    topics = {
        "results_timeline": tuple(f"when will I see results {n}" for n in range(6))
        + tuple(f"how long does it last {n}" for n in range(6))
        + tuple(f"does it work for wrinkles {n}" for n in range(6))
        + tuple(f"take your time {n}" for n in range(6)),
    }
    pets = ("dog", "cat", "horse", "rabbit", "parrot", "hamster")
    out_of_scope = tuple(f"how long does it take to work on my {pet}" for pet in pets)
    found = phrases_taught_as_out_of_scope(knowledge(topics, out_of_scope), STOPWORDS)
    # Every word is ours ("how", "long", "take", "work"...), the combination only theirs;
    # the longer phrases that hold the shortest suspect one are not repeated.
    assert [p.phrase for p in found] == ["it take"]
    assert (found[0].out_of_scope_uses, found[0].topic_uses) == (6, 0)
    assert found[0].first.text == "how long does it take to work on my dog"


def test_words_the_topics_never_use_are_not_a_frame() -> None:
    topics = {"pricing": tuple(f"how much is a session {n}" for n in range(30))}
    out_of_scope = tuple(f"my dog at the vet {n}" for n in range(8))
    assert phrases_taught_as_out_of_scope(knowledge(topics, out_of_scope), STOPWORDS) == []


def test_a_frame_the_topics_use_too_is_fine() -> None:
    topics = {
        "pricing": (
            *(f"how much is a session {n}" for n in range(10)),
            "how much is a course",
            "how much is a visit",
        )
    }
    out_of_scope = tuple(
        f"how much is a {thing}" for thing in ("car", "boat", "flat", "tv", "cake")
    )
    found = phrases_taught_as_out_of_scope(knowledge(topics, out_of_scope), STOPWORDS)
    assert [p.phrase for p in found] == []
