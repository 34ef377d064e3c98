"""Reports for the clinic: /stats, and /gaps (what people ask that the content does not answer).

Both are Telegram HTML (``<b>`` only, every value escaped); ``as_plain_text`` turns them into
terminal text for ``python -m bot stats`` and ``python -m bot gaps``.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.analytics.records import Stats
from bot.content.html_text import plain_text
from bot.engine import DialogueEngine
from bot.nlu.language import STOPWORDS

# Two questions are "the same gap" when their topic words overlap this much (0-100).
SIMILARITY_CUTOFF = 70.0
MAX_EXAMPLES = 3
MAX_REPORT_LENGTH = 4000  # Telegram's limit is 4096; leave room for the "and N more" line
_QUOTE_LENGTH = 70
_TIMES = "\u00d7"  # multiplication sign: "12 times" in the gaps list
# Words that say how a question is asked rather than what about.
_QUESTION_WORDS = frozenset({"how", "what", "when", "where", "why", "who", "whom", "whose"})
SOURCE_NAMES = {
    "private": "private chat",
    "group": "groups",
    "inline": "inline",
    "deep_link": "deep links",
    "discussion": "channel comments",
    "button": "buttons",
}


@dataclass(frozen=True)
class Gap:
    """Similar unanswered questions and the intent that came closest to them."""

    count: int  # questions in the group, repeats included
    examples: list[str]  # up to three distinct phrasings, most typical first
    nearest_intent: str | None
    nearest_score: float
    phrasings: int = 1  # distinct phrasings in the group


def find_gaps(questions: Sequence[str], engine: DialogueEngine, limit: int = 10) -> list[Gap]:
    """Group similar unanswered questions, most frequent group first; questions the bot
    answers by now are left out.

    Questions are compared by their topic words (filler such as "can I" removed), with
    rapidfuzz's token_set_ratio, confirmed by token_sort_ratio so that a one-word question
    ("price") does not swallow every longer question containing that word. Each group forms
    around its most central phrasing: the one with the most similar questions around it.
    Only questions sharing a word (or a word's first four letters) are compared, so a few
    thousand questions take well under a second.
    """
    # What the bot answers by now (the content grew, or an admin taught it) is no gap.
    questions = [q for q in questions if engine.respond(q).answered_intent is None]
    # Questions that read the same to the matcher are compared once; their wordings are
    # kept apart (case aside) to show the clinic how people put it.
    wordings: dict[str, Counter[str]] = {}  # comparable form -> casefolded wording -> times
    shown: dict[str, str] = {}  # casefolded wording -> the newest original
    for question in questions:
        wording = " ".join(question.split())
        key = _comparable(wording, engine)
        if key:
            wordings.setdefault(key, Counter())[wording.casefold()] += 1
            shown.setdefault(wording.casefold(), wording)
    keys = list(wordings)
    weight = [wordings[key].total() for key in keys]
    neighbours = _neighbours(keys)
    centrality = [weight[i] + sum(weight[j] for j in neighbours[i]) for i in range(len(keys))]

    groups: list[list[int]] = []
    assigned = [False] * len(keys)
    for leader in sorted(range(len(keys)), key=lambda i: (-centrality[i], -weight[i], i)):
        if assigned[leader]:
            continue
        members = [j for j in neighbours[leader] if not assigned[j]]
        members.sort(key=lambda j: (-weight[j], -neighbours[leader][j], j))
        for index in (leader, *members):
            assigned[index] = True
        groups.append([leader, *members])
    groups.sort(key=lambda group: (-sum(weight[i] for i in group), min(group)))

    gaps = []
    for group in groups[:limit]:
        # The leader's most asked wording first, then the others by how often they came.
        first, *others = [item for i in group for item in wordings[keys[i]].most_common()]
        others.sort(key=lambda item: -item[1])
        examples = [shown[wording] for wording, _ in (first, *others)]
        nearest = engine.nearest_topic(examples[0])
        gaps.append(
            Gap(
                count=sum(weight[i] for i in group),
                examples=examples[:MAX_EXAMPLES],
                nearest_intent=nearest.intent_id if nearest else None,
                nearest_score=nearest.score if nearest else 0.0,
                phrasings=len(examples),
            )
        )
    return gaps


def _comparable(question: str, engine: DialogueEngine) -> str:
    """The question's topic words, as the matcher reads them: "Can I park nearby?" -> "park
    nearby" (typos corrected, plurals folded and synonyms replaced by the engine, filler
    and question words dropped, "-ing"/"-ed" endings cut)."""
    words = [_stem(word) for word in engine.words_of(question)]
    topical = [word for word in words if word not in STOPWORDS and word not in _QUESTION_WORDS]
    return " ".join(topical or words)


def _stem(word: str) -> str:
    """Crude stem, good enough to group "parking" with "park" and "allowed" with "allow"."""
    for ending, shortest in (("ing", 6), ("ed", 5)):
        if word.endswith(ending) and len(word) >= shortest:
            return word[: -len(ending)]
    return word


def _neighbours(keys: Sequence[str]) -> list[dict[int, float]]:
    """For each key, the other keys similar to it, with their similarity."""
    # Compare only keys that share a word or a word stem (its first four letters), which
    # still catches typos in all but the first letters: "parking" ~ "parkng".
    postings: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        for word in set(key.split()):
            for handle in {word, word[:4]}:
                postings.setdefault(handle, []).append(index)
    similar: list[dict[int, float]] = [{} for _ in keys]
    for index, key in enumerate(keys):
        handles = {handle for word in key.split() for handle in (word, word[:4])}
        # Each pair once: similarity is symmetric, so compare only with later keys.
        candidates = sorted({j for handle in handles for j in postings[handle] if j > index})
        if not candidates:
            continue
        matches = process.extract(
            key,
            [keys[j] for j in candidates],
            scorer=fuzz.token_set_ratio,
            score_cutoff=SIMILARITY_CUTOFF,
            limit=None,
        )
        for _, set_score, position in matches:
            other = candidates[position]
            order_score = fuzz.token_sort_ratio(key, keys[other])
            score = (set_score + order_score) / 2
            if score >= SIMILARITY_CUTOFF:
                similar[index][other] = similar[other][index] = score
    return similar


def stats_report(week: Stats, month: Stats, titles: Mapping[str, str]) -> str:
    """The /stats text: the last 7 and 30 days, one after the other."""
    return "\n\n".join(_window_report(stats, titles) for stats in (week, month))


def _window_report(stats: Stats, titles: Mapping[str, str]) -> str:
    days = "today" if stats.days == 1 else f"last {stats.days} days"
    lines = [f"<b>{_e(days.capitalize())}</b>"]
    visits = [(post, count) for post, count in stats.post_visits if count]
    if not stats.questions and not visits:
        return "\n".join([*lines, "No questions yet."])
    lines += [
        f"Questions: {stats.questions}",
        f"Answered: {stats.answered} ({_percent(stats.answer_rate)})",
        f"Asked back: {stats.clarified} · Safety answers: {stats.safety}",
        f"Unanswered: {stats.fallbacks} ({_percent(stats.fallback_rate)})",
        "Helpful: no votes yet"
        if stats.helpful_rate is None
        else f"Helpful: {_percent(stats.helpful_rate)}"
        f" ({stats.helpful_yes} yes, {stats.helpful_no} no)",
    ]
    if stats.top_intents:
        lines.append("<b>Top topics</b>")
        lines += [
            f"{rank}. {_e(titles.get(intent, intent))}: {count}"
            for rank, (intent, count) in enumerate(stats.top_intents, start=1)
        ]
    if stats.sources:
        sources = ", ".join(
            f"{_e(SOURCE_NAMES.get(source, source))} {count}"
            for source, count in stats.sources.items()
        )
        lines.append(f"<b>Sources:</b> {sources}")
    if stats.deep_link_tags:
        tags = ", ".join(f"{_e(tag)} {count}" for tag, count in stats.deep_link_tags)
        lines.append(f"<b>Deep links:</b> {tags}")
    if visits:
        lines.append("<b>Channel posts that brought visitors</b>")
        lines += [
            f"{_e(post.tag)} ({_e(titles.get(post.intent_id, post.intent_id))}): "
            f"{count} visit{'' if count == 1 else 's'}"
            for post, count in visits
        ]
    return "\n".join(lines)


def gaps_report(gaps: Sequence[Gap], titles: Mapping[str, str], days: int = 30) -> str:
    """The /gaps text: one line per group, cut to fit one Telegram message."""
    if not gaps:
        return f"No unanswered questions in the last {days} days."
    total = sum(gap.count for gap in gaps)
    header = (
        f"<b>Unanswered questions, last {days} days</b>\n"
        f"{total} question{'' if total == 1 else 's'} in {len(gaps)} group"
        f"{'' if len(gaps) == 1 else 's'}, most frequent first"
    )
    parts = [header]
    length = len(header)
    for shown, gap in enumerate(gaps):
        entry = _gap_entry(gap, titles)
        rest = len(gaps) - shown
        footer = f"\n\n… and {rest} more group{'' if rest == 1 else 's'}."
        if length + 2 + len(entry) + len(footer) > MAX_REPORT_LENGTH:
            parts.append(footer.strip())
            break
        parts.append(entry)
        length += 2 + len(entry)
    return "\n\n".join(parts)


def _gap_entry(gap: Gap, titles: Mapping[str, str]) -> str:
    similar = f" (+{gap.phrasings - 1} similar)" if gap.phrasings > 1 else ""
    if gap.nearest_intent is None:
        nearest = "no close topic"
    else:
        title = titles.get(gap.nearest_intent, gap.nearest_intent)
        nearest = f"nearest: {_e(title)} ({gap.nearest_score:.0f})"
    lines = [f"<b>{gap.count}{_TIMES}</b> «{_quote(gap.examples[0])}»{similar} → {nearest}"]
    if len(gap.examples) > 1:
        lines.append("   also: " + ", ".join(f"«{_quote(e)}»" for e in gap.examples[1:]))
    return "\n".join(lines)


def as_plain_text(html_text: str) -> str:
    """A report for the terminal: tags removed, entities decoded."""
    return plain_text(html_text)


def _quote(text: str) -> str:
    """A user's question, shortened and escaped (cut before escaping: no broken entities)."""
    text = " ".join(text.split())
    if len(text) > _QUOTE_LENGTH:
        text = text[: _QUOTE_LENGTH - 1].rstrip() + "…"
    return html.escape(text, quote=False)


def _percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.0%}"


def _e(text: str) -> str:
    return html.escape(text, quote=False)
