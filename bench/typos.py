"""Benchmark: typo correction, measured on typos made by rule rather than by hand.

A word the shipped content uses (four letters or more, not filler) gets one typo of a
common kind: a letter dropped, doubled, swapped with its neighbour, replaced by a key next
to it on the keyboard, or a wrong first letter. Does the normaliser read the word back?
Three outcomes: the right word (plurals folded, as the matcher reads it), the typo left as
typed (the character n-grams still carry part of it), or another word (the worst: the
matcher reads a different question).

The same typos go to a plain rapidfuzz lookup (``process.extractOne`` with ``fuzz.ratio``
over the same vocabulary, cutoff 80) for comparison. The other side of the trade: rare
English words the content never uses ("petal", "vaping") are meant as typed, and a
corrector that changes them reads a different question. The typos and the sample of words
are random with a fixed seed, so every run asks the same ones. No set the matcher is
measured on is used here.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bench.common import Row, fmt_pct, table
from bot.content.loader import load_knowledge
from bot.content.phrasing import basic_tokens
from bot.nlu.language import STOPWORDS, english_word_ranks
from bot.nlu.normalizer import TextNormalizer, fold_plural
from bot.paths import default_content_dir

KINDS = ("dropped", "doubled", "swapped", "neighbour key", "first letter")
NAIVE_CUTOFF = 80.0
# English words rarer than this rank are the ones a corrector is tempted to change.
RARE_WORD_RANK = 15_000
_KEY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


@dataclass(frozen=True)
class Outcomes:
    """How many typos were read back right, left as typed, or read as another word."""

    right: int
    kept: int
    other: int

    @property
    def total(self) -> int:
        return self.right + self.kept + self.other

    def share(self, count: int) -> float:
        return count / self.total if self.total else 0.0


@dataclass(frozen=True)
class TypoResult:
    ours: dict[str, Outcomes]  # by kind, and "all"
    naive: dict[str, Outcomes]
    rare_words: int  # rare English words outside the content, asked as typed
    rare_changed: int  # ... that our normaliser changed
    rare_changed_naive: int

    def rare_share(self, changed: int) -> float:
        """``changed`` as a share of the rare words asked."""
        return changed / self.rare_words if self.rare_words else 0.0


def keyboard_neighbours() -> dict[str, str]:
    """Letters next to each letter on a QWERTY keyboard (same row and the rows around)."""
    neighbours: dict[str, str] = {}
    for r, row in enumerate(_KEY_ROWS):
        for c, letter in enumerate(row):
            near = [
                _KEY_ROWS[rr][cc]
                for rr in (r - 1, r, r + 1)
                if 0 <= rr < len(_KEY_ROWS)
                for cc in (c - 1, c, c + 1)
                if 0 <= cc < len(_KEY_ROWS[rr]) and (rr, cc) != (r, c)
            ]
            neighbours[letter] = "".join(near)
    return neighbours


def misspell(word: str, kind: str, rng: random.Random, neighbours: dict[str, str]) -> str:
    """``word`` with one typo of ``kind`` (never in the first letter but for that kind)."""
    at = rng.randrange(1, len(word))
    if kind == "dropped":
        return word[:at] + word[at + 1 :]
    if kind == "doubled":
        return word[:at] + word[at] + word[at:]
    if kind == "swapped":
        at = rng.randrange(1, len(word) - 1)
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    if kind == "neighbour key":
        return word[:at] + rng.choice(neighbours.get(word[at], "e")) + word[at + 1 :]
    return rng.choice(neighbours.get(word[0], "e")) + word[1:]


def run(quick: bool = False, log: Callable[[str], None] = print) -> TypoResult:
    """Misspell content words of every kind and score both correctors."""
    knowledge = load_knowledge(default_content_dir())
    normalizer = TextNormalizer.for_content(knowledge)
    counts = Counter(
        token
        for intent in knowledge.intents.values()
        for example in intent.examples
        for token in basic_tokens(example.text)
    )
    # Words the content uses a few times: a one-off word may itself be a typo.
    words = sorted(
        w
        for w, n in counts.items()
        if n >= 3 and len(w) >= 4 and w.isalpha() and w not in STOPWORDS
    )
    vocabulary = sorted(normalizer.vocabulary)

    def naive(typo: str) -> str:
        found = process.extractOne(typo, vocabulary, scorer=fuzz.ratio, score_cutoff=NAIVE_CUTOFF)
        return typo if found is None else str(found[0])

    rng = random.Random(7)
    neighbours = keyboard_neighbours()
    per_kind = 300 if quick else 1500
    ours: dict[str, Counter[str]] = {kind: Counter() for kind in (*KINDS, "all")}
    plain: dict[str, Counter[str]] = {kind: Counter() for kind in (*KINDS, "all")}
    for kind in KINDS:
        for _ in range(per_kind):
            word = rng.choice(words)
            typo = misspell(word, kind, rng, neighbours)
            if typo in normalizer.vocabulary:
                continue  # another real word of the content: not a typo anyone could see
            meant = fold_plural(normalizer.correct(word))
            for tally, read in ((ours, normalizer.correct(typo)), (plain, naive(typo))):
                outcome = _outcome(read, typo, meant)
                tally[kind][outcome] += 1
                tally["all"][outcome] += 1
    rare = sorted(
        w
        for w, rank in english_word_ranks().items()
        if rank >= RARE_WORD_RANK and len(w) >= 4 and w.isalpha() and w not in normalizer.vocabulary
    )
    asked = rng.sample(rare, min(len(rare), 500 if quick else 4000))
    result = TypoResult(
        _outcomes(ours),
        _outcomes(plain),
        len(asked),
        sum(normalizer.correct(w) != w for w in asked),
        sum(naive(w) != w for w in asked),
    )
    log(report(result))
    return result


def _outcome(read: str, typo: str, meant: str) -> str:
    if fold_plural(read) == meant:
        return "right"
    return "kept" if read == typo else "other"


def _outcomes(tallies: dict[str, Counter[str]]) -> dict[str, Outcomes]:
    return {k: Outcomes(c["right"], c["kept"], c["other"]) for k, c in tallies.items()}


def report(result: TypoResult) -> str:
    """Per kind: read back right / left as typed / read as another word, ours and naive."""

    def cells(o: Outcomes) -> list[str]:
        return [fmt_pct(o.share(o.right)), fmt_pct(o.share(o.kept)), fmt_pct(o.share(o.other))]

    lines: Sequence[Sequence[str]] = [
        [kind, str(result.ours[kind].total), *cells(result.ours[kind]), *cells(result.naive[kind])]
        for kind in (*KINDS, "all")
    ]
    headers = ["typo", "n", "right", "kept", "other word", "naive right", "kept", "other word"]
    return (
        f"{table(headers, lines)}\n{result.rare_words} rare English words outside the content, "
        f"changed: {fmt_pct(result.rare_share(result.rare_changed))} "
        f"(naive {fmt_pct(result.rare_share(result.rare_changed_naive))})"
    )


def rows(result: TypoResult) -> list[Row]:
    """Benchmark table rows."""
    ours, naive = result.ours["all"], result.naive["all"]
    return [
        Row(
            "typos: content words misspelt by rule, read back right",
            f"{fmt_pct(ours.share(ours.right))} (plain rapidfuzz lookup "
            f"{fmt_pct(naive.share(naive.right))})",
            "info",
            None,
        ),
        Row(
            "typos: read as another word",
            f"{fmt_pct(ours.share(ours.other))} (plain rapidfuzz lookup "
            f"{fmt_pct(naive.share(naive.other))})",
            "info",
            None,
        ),
        Row(
            "typos: rare real words (not in the content) changed",
            f"{fmt_pct(result.rare_share(result.rare_changed))} (plain rapidfuzz "
            f"lookup {fmt_pct(result.rare_share(result.rare_changed_naive))})",
            "info",
            None,
        ),
    ]
