"""Phrases the out-of-scope examples teach as "not ours" although their words are ours.

The matcher learns "out of scope" from the out-of-scope examples like any topic. When
several of them ask in the same everyday frame ("how long does it take to work" of a
painkiller, "what age can" of a puppy) and no topic example uses that frame, the model
learns the frame itself as "not ours", and a patient who asks "how long does it take to
work?" of the treatment is turned away. A frame is suspect when every word of it is common
in the topic examples (the words are ours; only their combination is not) and it holds at
least one word that is not filler. The remedy is for the content's writers to judge:
topic examples that use the frame, or out-of-scope examples worded otherwise. A phrase
that really marks something the clinic does not do ("acupuncture training") is fine to keep.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from bot.content.knowledge import Example, Knowledge
from bot.content.phrasing import basic_tokens

PHRASE_LENGTHS = (2, 3, 4)
# A frame is worth a look when this share of the out-of-scope examples use it (and at
# least MIN_OUT_OF_SCOPE_USES), and at most MAX_TOPIC_USES topic examples do.
OUT_OF_SCOPE_SHARE = 0.003
MIN_OUT_OF_SCOPE_USES = 5
MAX_TOPIC_USES = 1
# "Common in the topic examples": in this share of them (and at least MIN_WORD_USES).
COMMON_WORD_SHARE = 0.0025
MIN_WORD_USES = 5


@dataclass(frozen=True)
class TaughtPhrase:
    """A phrase out-of-scope examples use and topic examples hardly do."""

    phrase: str
    out_of_scope_uses: int
    topic_uses: int
    first: Example  # the first out-of-scope example that uses it, to point at


def phrases_taught_as_out_of_scope(
    knowledge: Knowledge, filler: AbstractSet[str]
) -> list[TaughtPhrase]:
    """Suspect frames, most used first (a phrase of ``filler`` words only is none); a phrase
    that holds a shorter suspect one is left out (the shorter says it)."""
    topic_texts = [e.text for i in knowledge.intents.values() for e in i.examples]
    topic_phrases = Counter(p for text in topic_texts for p in _phrases(basic_tokens(text)))
    topic_words = Counter(w for text in topic_texts for w in set(basic_tokens(text)))
    common = max(MIN_WORD_USES, round(COMMON_WORD_SHARE * len(topic_texts)))
    used: Counter[tuple[str, ...]] = Counter()
    first: dict[tuple[str, ...], Example] = {}
    for example in knowledge.out_of_scope:
        for phrase in _phrases(basic_tokens(example.text)):
            used[phrase] += 1
            first.setdefault(phrase, example)
    least = max(MIN_OUT_OF_SCOPE_USES, round(OUT_OF_SCOPE_SHARE * len(knowledge.out_of_scope)))
    suspect = sorted(
        (
            phrase
            for phrase, count in used.items()
            if count >= least
            and topic_phrases[phrase] <= MAX_TOPIC_USES
            and all(topic_words[w] >= common for w in phrase)
            and any(w not in filler for w in phrase)
        ),
        key=lambda p: (-used[p], len(p), p),
    )
    kept = [p for p in suspect if not any(_inside(q, p) for q in suspect if q != p)]
    return [TaughtPhrase(" ".join(p), used[p], topic_phrases[p], first[p]) for p in kept]


def _phrases(tokens: Sequence[str]) -> Iterable[tuple[str, ...]]:
    """Each distinct run of PHRASE_LENGTHS words, once per text."""
    return {tuple(tokens[i : i + n]) for n in PHRASE_LENGTHS for i in range(len(tokens) - n + 1)}


def _inside(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    size = len(short)
    return size < len(long) and any(
        long[i : i + size] == short for i in range(len(long) - size + 1)
    )
