"""Rank intents for a free-text question.

Each example is indexed once as a set of canonical tokens weighted by how specific they are
(a word used by one intent says more than one used by all; filler words such as "is" or
"the" weigh little). A question is scored against the examples that share a topic word with
it, found through an inverted index, so the cost grows with the overlap, not with the size
of the content:

    score = matched / (matched + EXAMPLE_MISS * weight of example words not in the question
                               + KNOWN_EXTRA * weight of other clinic words in the question
                               + FOREIGN_EXTRA * weight of words no intent uses)

so "does a tattoo hurt" loses points for "tattoo", a word of no intent, instead of being
answered as "does it hurt". A share of the final score (INTENT_BLEND) comes from how much
of the question the intent's whole vocabulary explains. Long messages are also scored
sentence by sentence and clause by clause, so a question wrapped in a story is found where
it is asked.
Out-of-scope examples are indexed like an intent; a question closest to them is rejected.

The weights were tuned on tests/data/eval_set.yaml and checked on holdout_set.yaml, which
nobody tuned against; the speed limits (COMMON_SHARE, MAX_SCORED) are measured by bench/.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from bot.content.knowledge import Knowledge
from bot.nlu.language import STOPWORDS, english_word_ranks
from bot.nlu.normalizer import TextNormalizer
from bot.nlu.units import is_question, sentences_of

OUT_OF_SCOPE = "out_of_scope"

# Weights of the score formula above. Missing example words cost more than extra question
# words, because people wrap questions in context; words foreign to the clinic cost the
# most, because they usually name another topic.
EXAMPLE_MISS = 0.7
KNOWN_EXTRA = 0.2
FOREIGN_EXTRA = 0.8
FILLER_WEIGHT = 0.2
# Share of the score that comes from the intent as a whole (how much of the question the
# words of all its examples explain) rather than from its single closest example: people
# combine words from several ways of asking.
INTENT_BLEND = 0.3
# How specific a word is, from its rank in a list of common English words: everyday words
# ("explain", "lunch", "meaning") say less about the topic than rare ones ("tattoo",
# "rosacea"). Specificity scales with log(rank) between these ranks, from a floor of
# SPECIFICITY_FLOOR; it multiplies a clinic word's weight and a foreign word's cost.
_COMMON_RANK = 300
_RARE_RANK = 30_000
SPECIFICITY_FLOOR = 0.15
CLINIC_SPECIFICITY = 0.5  # how much specificity shapes clinic word weights (0 = not at all)
# Retrieval: a word found in more than this share of the examples (and at least
# MIN_COMMON_POSTINGS of them) fetches candidates only when a question has no rarer word.
COMMON_SHARE = 0.05
MIN_COMMON_POSTINGS = 30
MAX_SCORED = 20  # examples per clause scored in full (the most promising by a cheap bound)
RANKED_PER_UNIT = 8  # no caller asks for more candidates than this

_CLAUSE_BREAK = re.compile(r"[;:]+|,|\s[-\u2013\u2014]+\s")


@dataclass(frozen=True)
class Candidate:
    """An intent the question may be about, with a 0-100 score and the example that won."""

    intent_id: str
    score: float
    example: str


@dataclass(frozen=True)
class Match:
    """What the matcher makes of a question."""

    candidates: tuple[Candidate, ...]
    # Total weight of the clinic words in the question: low for "treatment?" or "face".
    information: float


@dataclass(frozen=True, slots=True)
class _IndexedExample:
    intent_id: str
    text: str
    tokens: frozenset[str]
    weight: float


class Matcher:
    """Inverted index over the examples; immutable after construction."""

    def __init__(self, knowledge: Knowledge, normalizer: TextNormalizer) -> None:
        self.normalizer = normalizer
        # Small talk is judged on the whole message: the "hi" clause of "hi, does it
        # hurt?" must not turn a question into a greeting.
        self._whole_message_only = frozenset(
            i.id for i in knowledge.intents.values() if i.smalltalk
        )
        sources: list[tuple[str, str]] = [
            (intent.id, example.text)
            for intent in knowledge.intents.values()
            for example in intent.examples
        ]
        sources += [(OUT_OF_SCOPE, example.text) for example in knowledge.out_of_scope]
        tokenized = [
            (intent_id, text, frozenset(normalizer.canonical_tokens(text)))
            for intent_id, text in sources
        ]

        intents_using: dict[str, set[str]] = defaultdict(set)
        for intent_id, _, tokens in tokenized:
            for token in tokens:
                intents_using[token].add(intent_id)
        documents = len({intent_id for intent_id, _, _ in tokenized}) or 1
        self._english_rank = english_word_ranks()
        self._weight = {
            token: FILLER_WEIGHT
            if token in STOPWORDS
            else (1.0 + math.log(documents / len(users)))
            * (1.0 - CLINIC_SPECIFICITY * (1.0 - self._specificity(token)))
            for token, users in intents_using.items()
        }
        # Words only the out-of-scope examples use are foreign to the clinic, like words
        # no example uses at all; those are treated as the most specific kind of word.
        self._clinic_words = frozenset(
            token for token, users in intents_using.items() if users != {OUT_OF_SCOPE}
        )
        self._foreign_weight = 1.0 + math.log(documents)

        vocabulary: dict[str, set[str]] = defaultdict(set)
        for token, users in intents_using.items():
            for intent_id in users:
                vocabulary[intent_id].add(token)
        self._vocabulary = {intent_id: frozenset(words) for intent_id, words in vocabulary.items()}
        self._examples: list[_IndexedExample] = []
        self._postings: dict[str, list[int]] = defaultdict(list)
        self._filler_postings: dict[str, list[int]] = defaultdict(list)
        seen: set[tuple[str, frozenset[str]]] = set()
        for intent_id, text, tokens in tokenized:
            if not tokens or (intent_id, tokens) in seen:
                continue  # the same set of words under one intent adds nothing
            seen.add((intent_id, tokens))
            index = len(self._examples)
            weight = sum(self._weight[t] for t in tokens)
            self._examples.append(_IndexedExample(intent_id, text, tokens, weight))
            for token in tokens:
                if token not in STOPWORDS:
                    self._postings[token].append(index)
                elif tokens <= STOPWORDS:
                    # Filler is not indexed (it is in nearly everything), except for the few
                    # examples made only of filler, found when a question is only filler too.
                    self._filler_postings[token].append(index)
        # A word in many examples ("acupuncture", "how") still counts in every score, but
        # does not fetch candidates when the question has rarer words: otherwise each
        # question would be scored against a large share of the index.
        self._example_weights = [example.weight for example in self._examples]
        self._known_costs = {t: self._compute_cost(t) for t in (*self._weight, *STOPWORDS)}
        self._common_postings = max(MIN_COMMON_POSTINGS, int(COMMON_SHARE * len(self._examples)))

    def match(self, question: str, limit: int = 5) -> Match:
        """Intents for ``question``, best first (out-of-scope pseudo-intent included), and
        how much the question says about clinic topics at all."""
        whole, units = self._units(question)
        best: dict[str, tuple[float, str]] = {}
        for tokens, is_whole in units:
            for intent_id, score, example in self._score_unit(tokens):
                if not is_whole and intent_id in self._whole_message_only:
                    continue
                if score > best.get(intent_id, (-1.0, ""))[0]:
                    best[intent_id] = (score, example)
        top = heapq.nsmallest(limit, best.items(), key=lambda item: (-item[1][0], item[0]))
        candidates = tuple(
            Candidate(intent_id, round(100.0 * score, 1), example)
            for intent_id, (score, example) in top
        )
        information = sum(
            self._weight[t] for t in whole if t in self._clinic_words and t not in STOPWORDS
        )
        return Match(candidates, information)

    def rank(self, question: str, limit: int = 5) -> list[Candidate]:
        """Intents for ``question``, best first, out-of-scope pseudo-intent included."""
        return list(self.match(question, limit).candidates)

    def _units(self, question: str) -> tuple[frozenset[str], list[tuple[frozenset[str], bool]]]:
        """The whole message's tokens, and the token sets to score, each flagged when it is
        the whole message.

        The whole message, each sentence and each clause. When some sentences ask and
        others tell a story, only the asking ones are scored (each also together with the
        sentence before it, where its "it" usually lives): the story around a question must
        not outscore the question. Each clause is normalised once; sentences and the whole
        message are unions of their clauses (no synonym phrase spans a comma).
        """
        sentences = sentences_of(question)
        asking = [is_question(s) for s in sentences]
        mixed = len(sentences) > 1 and any(asking) and not all(asking)
        clauses = [
            [
                frozenset(self.normalizer.canonical_tokens(c))
                for c in _CLAUSE_BREAK.split(s)
                if c.strip()
            ]
            for s in sentences
        ]
        sentence_tokens = [frozenset().union(*parts) for parts in clauses]
        whole = frozenset().union(*sentence_tokens)
        units: list[tuple[frozenset[str], bool]] = [] if mixed else [(whole, True)]
        seen = set() if mixed else {whole}
        for number, asks in enumerate(asking):
            if mixed and not asks:
                continue
            parts = [sentence_tokens[number], *clauses[number]]
            if mixed and number > 0:
                parts.append(sentence_tokens[number - 1] | sentence_tokens[number])
            for tokens in parts:
                if tokens and tokens not in seen:
                    seen.add(tokens)
                    units.append((tokens, False))
        return whole, [unit for unit in units if unit[0]]

    def _token_cost(self, token: str) -> float:
        """What an unmatched question word costs (precomputed for every word we know)."""
        known = self._known_costs.get(token)
        if known is not None:
            return known
        return FOREIGN_EXTRA * self._foreign_weight * self._specificity(token)

    def _compute_cost(self, token: str) -> float:
        if token in STOPWORDS:
            return KNOWN_EXTRA * FILLER_WEIGHT
        if token in self._clinic_words:
            return KNOWN_EXTRA * self._weight[token]
        return FOREIGN_EXTRA * self._foreign_weight * self._specificity(token)

    def _specificity(self, token: str) -> float:
        """From SPECIFICITY_FLOOR (very common English word) to 1 (rare or not English)."""
        rank = self._english_rank.get(token.split("_")[0], _RARE_RANK)
        factor = math.log(max(rank, _COMMON_RANK) / _COMMON_RANK) / math.log(
            _RARE_RANK / _COMMON_RANK
        )
        return max(min(factor, 1.0), SPECIFICITY_FLOOR)

    def _score_unit(self, tokens: frozenset[str]) -> Iterable[tuple[str, float, str]]:
        """(intent, 0-1 score, closest example) for every intent with a candidate example."""
        weight = self._weight
        costs = {token: self._token_cost(token) for token in tokens}
        total_cost = sum(costs.values())
        # Per question word: what matching it earns, and what missing it would have cost.
        earns = {t: (weight[t], costs[t]) for t in tokens if t in weight}
        best: dict[str, tuple[float, str]] = {}
        for index in self._candidates(tokens, total_cost):
            example = self._examples[index]
            matched = 0.0
            saved = 0.0
            for token in example.tokens:
                pair = earns.get(token)
                if pair is not None:
                    matched += pair[0]
                    saved += pair[1]
            score = matched / (
                matched + EXAMPLE_MISS * (example.weight - matched) + total_cost - saved
            )
            if score > best.get(example.intent_id, (-1.0, ""))[0]:
                best[example.intent_id] = (score, example.text)
        # The intent-wide share is at most 1, so an intent whose example score cannot lift it
        # into this unit's top RANKED_PER_UNIT is not worth the vocabulary pass.
        kept: list[float] = []
        for intent_id, (score, text) in sorted(best.items(), key=lambda item: -item[1][0]):
            if (
                len(kept) >= RANKED_PER_UNIT
                and (1.0 - INTENT_BLEND) * score + INTENT_BLEND <= kept[0]
            ):
                break
            vocabulary = self._vocabulary[intent_id]
            matched = 0.0
            saved = 0.0
            for token, (earned, cost) in earns.items():
                if token in vocabulary:
                    matched += earned
                    saved += cost
            coverage = matched / (matched + total_cost - saved)
            blended = (1.0 - INTENT_BLEND) * score + INTENT_BLEND * coverage
            if len(kept) < RANKED_PER_UNIT:
                heapq.heappush(kept, blended)
            elif blended > kept[0]:
                heapq.heapreplace(kept, blended)
            yield intent_id, blended, text

    def _candidates(self, tokens: frozenset[str], total_cost: float) -> Iterable[int]:
        """Examples sharing a topic word with ``tokens``; common words only as a last resort.

        A long message can share a word with hundreds of examples; only the MAX_SCORED most
        promising are scored in full, ranked by a cheap bound from the retrieval words.
        """
        lists = [(t, self._postings[t]) for t in tokens if t in self._postings]
        rare = [(t, p) for t, p in lists if len(p) <= self._common_postings]
        chosen = rare or lists
        if not chosen:  # nothing but filler: fall back to examples made of filler too
            return set().union(
                *(self._filler_postings[t] for t in tokens if t in self._filler_postings)
            )
        shared: dict[int, float] = defaultdict(float)
        for token, postings in chosen:
            earned = self._weight[token]
            for index in postings:
                shared[index] += earned
        if len(shared) <= MAX_SCORED:
            return shared
        weights = self._example_weights
        promising = heapq.nlargest(
            MAX_SCORED,
            (
                (
                    matched / (matched + EXAMPLE_MISS * (weights[index] - matched) + total_cost),
                    index,
                )
                for index, matched in shared.items()
            ),
        )
        return [index for _, index in promising]
