"""Deterministic synthetic knowledge bases for the matching benchmark.

A generated base has N examples spread over N/10 intents. Each intent has its own topic
vocabulary, drawn with ``random.Random(seed)`` from word pools shaped like real FAQ content:

* question openers ("how do i", "what is", "can you") shared by every intent: mostly filler
  words, plus question words such as "how" or "when" that the matcher does index;
* common English words ("price", "morning", "change") shared by many intents;
* mid-frequency English words ("cushion", "harbour") shared by a handful of intents;
* distinctive made-up words ("valmori", "tesquin"): one intent's product or treatment names.

Every example carries at least one distinctive word, so each generated question has exactly
one right answer. Held-out questions paraphrase an example (a different opener, a dropped
word, shuffled order, sometimes a typo); out-of-scope questions use an opener and English
words that no example contains. The same seed and size always give the same base, so runs
on different machines and days compare like with like.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from bot.content.checks import REQUIRED_MESSAGES
from bot.content.knowledge import Example, Intent, Knowledge, Response, freeze
from bot.content.phrasing import basic_tokens
from bot.content.problems import SourceRef
from bot.nlu.language import STOPWORDS, english_word_ranks
from bot.nlu.normalizer import fold_plural

EXAMPLES_PER_INTENT = 10
_SOURCE = Path("<generated>")
# Openers: how people start questions. "" stands for keyword-style questions ("valmori price").
OPENERS = (
    "",
    "what is",
    "what are the",
    "how do i",
    "how does the",
    "how much is",
    "how long does",
    "can i",
    "can you",
    "do you have",
    "is there a",
    "where can i find",
    "when can i",
    "why does my",
    "tell me about",
    "i want to know about",
    "any info on",
    "question about the",
)
# Short words between content words, as in "valmori for my cushion".
CONNECTORS = ("", "", "", "the", "a", "my", "for", "with", "and", "of", "to")
# English frequency ranks of the shared pools. Common words sit below the normaliser's
# "real word" rank (never typo-corrected); mid-frequency words straddle it, like real content.
_COMMON_RANKS = (300, 4000)
_TOPIC_RANKS = (4000, 30_000)
# Every _RESERVE_EVERY-th English word is kept out of the knowledge base entirely: the
# out-of-scope questions are made of these.
_RESERVE_EVERY = 5
_SYLLABLE_ONSETS: tuple[str, ...] = (
    *("b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "t", "v", "z"),
    *("br", "tr", "pl", "st", "gr", "kl"),
)
_SYLLABLE_VOWELS = ("a", "e", "i", "o", "u", "ai", "ei", "ou")
_SYLLABLE_CODAS = ("", "", "", "n", "r", "l", "m", "x")  # repeats: most syllables are open


@dataclass(frozen=True)
class Query:
    """A question with its right answer: an intent id, or None when nothing should answer."""

    text: str
    expect: str | None
    kind: str  # "paraphrase", "typo" or "out_of_scope"


@dataclass(frozen=True)
class GeneratedKB:
    """A synthetic knowledge base and questions with known answers."""

    knowledge: Knowledge
    queries: tuple[Query, ...]
    warmup: tuple[Query, ...]

    @property
    def example_count(self) -> int:
        return sum(len(i.examples) for i in self.knowledge.intents.values())


@dataclass(frozen=True)
class _Vocabulary:
    distinctive: tuple[str, ...]
    topic: tuple[str, ...]
    common: tuple[str, ...]


def generate(
    examples: int,
    in_scope_queries: int = 1000,
    out_of_scope_queries: int = 250,
    warmup_queries: int = 100,
    seed: int = 6,
) -> GeneratedKB:
    """A knowledge base of ``examples`` examples (N/10 intents) with held-out questions.

    ``warmup`` questions come from the same distribution but are disjoint from ``queries``,
    so a warm-up does not pre-fill the normaliser's per-token cache for the timed questions.
    """
    rng = random.Random(seed)
    intent_count = max(1, examples // EXAMPLES_PER_INTENT)
    kb_words, reserved = _english_pools(rng)
    common_pool = kb_words["common"]
    topic_pool = kb_words["topic"]
    # Pool sizes grow with the content, as a bigger FAQ covers more subjects; each common
    # word ends up in roughly 1-3% of intents, each topic word in a handful.
    common = common_pool[: max(40, min(len(common_pool), intent_count // 8))]
    topic = topic_pool[: max(60, min(len(topic_pool), intent_count))]
    pseudo = _pseudo_words(rng, 2 * intent_count, exclude=set(english_word_ranks()))

    vocabularies: dict[str, _Vocabulary] = {}
    intents: dict[str, Intent] = {}
    responses: dict[str, Response] = {}
    seen_texts: set[str] = set()
    line = 0
    for number in range(intent_count):
        intent_id = f"topic_{number:06d}"
        vocabulary = _Vocabulary(
            distinctive=(pseudo[2 * number], pseudo[2 * number + 1]),
            topic=tuple(rng.sample(topic, 2)),
            common=tuple(rng.sample(common, 3)),
        )
        vocabularies[intent_id] = vocabulary
        texts: list[str] = []
        while len(texts) < EXAMPLES_PER_INTENT:
            text = _example_text(rng, vocabulary)
            key = " ".join(basic_tokens(text))
            if key in seen_texts:
                continue  # the loader rejects duplicate examples; so do we
            seen_texts.add(key)
            texts.append(text)
        line += 1
        intents[intent_id] = Intent(
            id=intent_id,
            examples=tuple(
                Example(text, SourceRef(_SOURCE, line + offset))
                for offset, text in enumerate(texts)
            ),
            source=SourceRef(_SOURCE, line),
            category=f"Category {number % 12}",
        )
        line += len(texts)
        responses[intent_id] = Response(
            intent_id=intent_id,
            title=f"Topic {number}",
            answer=f"Answer about {vocabulary.distinctive[0]}.",
            follow_ups=(),
            source=SourceRef(_SOURCE, line),
        )

    knowledge = Knowledge(
        intents=freeze(intents),
        responses=freeze(responses),
        messages=freeze({key: f"[{key}]" for key in REQUIRED_MESSAGES}),
        synonyms=freeze({}),
        safety_patterns=(),
        settings=freeze({}),
        popular_topics=tuple(list(intents)[:3]),
        commands=freeze({}),
    )
    total = in_scope_queries + out_of_scope_queries + warmup_queries
    in_scope = _paraphrases(rng, intents, vocabularies, seen_texts, total)
    foreign = _out_of_scope(rng, reserved, seen_texts, out_of_scope_queries + warmup_queries)
    warm_in, timed_in = in_scope[: warmup_queries // 2], in_scope[warmup_queries // 2 :]
    warm_out, timed_out = foreign[: warmup_queries // 2], foreign[warmup_queries // 2 :]
    queries = timed_in[:in_scope_queries] + timed_out[:out_of_scope_queries]
    rng.shuffle(queries)  # interleave kinds so slow and fast questions share machine noise
    return GeneratedKB(knowledge, tuple(queries), tuple(warm_in + warm_out))


def _english_pools(rng: random.Random) -> tuple[dict[str, list[str]], list[str]]:
    """Shuffled common and topic word pools, plus the reserved (never in the KB) words."""
    opener_words = {w for phrase in OPENERS + CONNECTORS for w in phrase.split()}
    pools: dict[str, list[str]] = {"common": [], "topic": []}
    reserved: list[str] = []
    seen_stems: set[str] = set()
    for word, rank in english_word_ranks().items():
        stem = fold_plural(word)
        if (
            rank < _COMMON_RANKS[0]
            or len(word) < 4
            or word in STOPWORDS
            or word in opener_words
            or stem in seen_stems  # "market"/"markets" would fold into one token
        ):
            continue
        seen_stems.add(stem)
        if rank % _RESERVE_EVERY == 0:
            reserved.append(word)
        elif rank < _COMMON_RANKS[1]:
            pools["common"].append(word)
        elif rank < _TOPIC_RANKS[1]:
            pools["topic"].append(word)
    for words in (*pools.values(), reserved):
        rng.shuffle(words)
    return pools, reserved


def _pseudo_words(rng: random.Random, count: int, exclude: set[str]) -> list[str]:
    """``count`` distinct made-up words of 2-3 syllables, none an English word."""
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < count:
        syllables = rng.choice((2, 2, 3, 3, 3))
        word = "".join(
            rng.choice(_SYLLABLE_ONSETS)
            + rng.choice(_SYLLABLE_VOWELS)
            + rng.choice(_SYLLABLE_CODAS)
            for _ in range(syllables)
        )
        # A trailing "s" would be folded away as a plural, merging two words into one.
        if len(word) < 5 or word.endswith("s") or word in seen or word in exclude:
            continue
        seen.add(word)
        words.append(word)
    return words


def _join(rng: random.Random, opener: str, words: list[str]) -> str:
    parts = [opener] if opener else []
    for position, word in enumerate(words):
        connector = rng.choice(CONNECTORS) if position else ""
        parts += [connector, word] if connector else [word]
    return " ".join(parts)


def _example_text(rng: random.Random, vocabulary: _Vocabulary) -> str:
    """An opener and 2-4 content words, at least one of them distinctive."""
    words = rng.sample(vocabulary.distinctive, rng.choice((1, 1, 2)))
    words += rng.sample(vocabulary.topic, rng.choice((0, 1, 1, 2)))
    words += rng.sample(vocabulary.common, rng.choice((0, 1, 1, 2)))
    if len(words) < 2:
        words += rng.sample(vocabulary.common, 1)
    rng.shuffle(words)
    return _join(rng, rng.choice(OPENERS), words)


def _paraphrases(
    rng: random.Random,
    intents: dict[str, Intent],
    vocabularies: dict[str, _Vocabulary],
    examples: set[str],
    count: int,
) -> list[Query]:
    """Held-out questions: an example reworded (new opener, word dropped, order shuffled),
    a third of them with a typo in a distinctive word. Never equal to any example."""
    ids = list(intents)
    queries: list[Query] = []
    while len(queries) < count:
        intent_id = rng.choice(ids)
        vocabulary = vocabularies[intent_id]
        source = rng.choice(intents[intent_id].examples).text
        content = [w for w in source.split() if _is_content(w, vocabulary)]
        if len(content) > 2:
            # Drop a word, but keep at least one distinctive word: the question's anchor.
            droppable = [w for w in content if w not in vocabulary.distinctive] or content[1:]
            content.remove(rng.choice(droppable))
        rng.shuffle(content)
        kind = "paraphrase"
        if rng.random() < 1 / 3:
            target = next(w for w in content if w in vocabulary.distinctive)
            content[content.index(target)] = _typo(rng, target)
            kind = "typo"
        text = _join(rng, rng.choice(OPENERS), content)
        if " ".join(basic_tokens(text)) in examples:
            continue
        queries.append(Query(text, intent_id, kind))
    return queries


def _is_content(word: str, vocabulary: _Vocabulary) -> bool:
    return word in vocabulary.distinctive or word in vocabulary.topic or word in vocabulary.common


def _typo(rng: random.Random, word: str) -> str:
    """One edit away, never on the first letter (people rarely get that wrong)."""
    position = rng.randrange(1, len(word) - 1)
    letters = "abcdefghijklmnopqrstuvwxyz"
    edit = rng.choice(("swap", "drop", "replace", "double"))
    if edit == "swap":
        return word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    if edit == "drop":
        return word[:position] + word[position + 1 :]
    if edit == "replace":
        others = letters.replace(word[position], "")
        return word[:position] + rng.choice(others) + word[position + 1 :]
    return word[:position] + word[position] + word[position:]


def _out_of_scope(
    rng: random.Random, reserved: list[str], examples: set[str], count: int
) -> list[Query]:
    """An opener and 2-3 English words that no example contains: nothing should answer."""
    queries: list[Query] = []
    while len(queries) < count:
        words = rng.sample(reserved, rng.choice((2, 2, 3)))
        text = _join(rng, rng.choice(OPENERS[1:]), words)
        if " ".join(basic_tokens(text)) not in examples:
            queries.append(Query(text, None, "out_of_scope"))
    return queries
