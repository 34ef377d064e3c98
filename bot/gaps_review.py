"""``python -m bot gaps --review``: the /gaps review in the terminal, one group of unanswered
questions at a time, with numbered choices instead of buttons.

The choices are the buttons' (their labels come from the content): add the group to its
closest topic, to another topic, mark it not ours, put it on the to-do list, or skip it.
What is taught goes into the database as on Telegram (``learning.teach``); the running bot
learns it at its next start or /reload.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.analytics.learning import Teaching, taught_as, teach
from bot.analytics.reports import Gap
from bot.analytics.store import EventStore
from bot.console import terminal_wording
from bot.content.html_text import plain_text
from bot.content.knowledge import Knowledge
from bot.engine import DialogueEngine
from bot.nlu.classifier import OUT_OF_SCOPE

Action = Literal["add", "other", "out", "todo", "skip", "stop"]
# Reads one answer after showing a prompt; None at the end of input.
Ask = Callable[[str], str | None]
Say = Callable[[str], None]


@dataclass
class ReviewSummary:
    """What one review did, for its last line."""

    taught: int = 0
    refused: int = 0
    put_aside: int = 0
    skipped: int = 0


def review_gaps(
    engine: DialogueEngine, store: EventStore, gaps: Sequence[Gap], ask: Ask, say: Say
) -> ReviewSummary:
    """Go through ``gaps`` (most asked first) until the last one, "stop" or end of input."""
    summary = ReviewSummary()
    knowledge = engine.knowledge
    for number, gap in enumerate(gaps, start=1):
        say("")
        say(f"Group {number} of {len(gaps)}, asked {gap.count} times, not answered:")
        say("\n".join(f"  \u2022 {example}" for example in gap.examples))
        nearest = _topic_of(knowledge, gap.nearest_intent)
        say(f"Closest topic: {knowledge.title(nearest) if nearest else 'none'}")
        while True:
            action, intent_id = _choose(knowledge, nearest, ask, say)
            if action != "other" or intent_id is not None:
                break  # "Another topic…" backed out of: choose again
        if action == "stop":
            break
        if action == "skip":
            summary.skipped += 1
            say(_plain(knowledge.message("gaps_skipped")))
        elif action == "todo":
            noted = store.add_todo(list(gap.examples), gap.count)
            say(_plain(knowledge.message("gaps_todo_noted" if noted else "gaps_todo_listed")))
            summary.put_aside += 1
        else:
            assert intent_id is not None
            outcome = teach(engine, store, gap.examples, intent_id)
            _report(knowledge, intent_id, outcome, say)
            summary.taught += len(outcome.taught)
            summary.refused += len(outcome.refused)
    return summary


def _choose(
    knowledge: Knowledge, nearest: str | None, ask: Ask, say: Say
) -> tuple[Action, str | None]:
    """The admin's choice for one group, and the topic it teaches the group as."""
    choices: list[tuple[str, Action]] = [
        (knowledge.message("gaps_other"), "other"),
        (knowledge.message("gaps_not_ours"), "out"),
        (knowledge.message("gaps_todo"), "todo"),
        (knowledge.message("gaps_skip"), "skip"),
        ("Stop reviewing", "stop"),
    ]
    if nearest is not None:
        choices.insert(0, (knowledge.say("gaps_add", topic=knowledge.title(nearest)), "add"))
    picked = _pick(ask, say, [_plain(label) for label, _ in choices], allow_back=False)
    action: Action = "stop" if picked is None else choices[picked][1]
    if action == "add":
        return action, nearest
    if action == "out":
        return action, OUT_OF_SCOPE
    if action == "other":
        return action, _other_topic(knowledge, ask, say)
    return action, None


def _other_topic(knowledge: Knowledge, ask: Ask, say: Say) -> str | None:
    """A topic picked by category, as under "Another topic…"; None to go back."""
    say(_plain(knowledge.message("gaps_pick_topic")))
    categories = knowledge.categories()
    names = list(categories)
    category = _pick(ask, say, names, allow_back=True)
    if category is None:
        return None
    topics = categories[names[category]]
    topic = _pick(ask, say, [knowledge.title(intent_id) for intent_id in topics], allow_back=True)
    return None if topic is None else topics[topic]


def _pick(ask: Ask, say: Say, labels: Sequence[str], allow_back: bool) -> int | None:
    """The index of the label whose number the admin types (asked again until it is one);
    None for 0 ("back", where allowed) or at the end of input."""
    say("")
    for number, label in enumerate(labels, start=1):
        say(f"  {number}. {label}")
    if allow_back:
        say("  0. Back")
    while True:
        answer = ask("Your choice: ")
        if answer is None:
            return None
        answer = answer.strip()
        if allow_back and answer == "0":
            return None
        if answer.isdigit() and 1 <= int(answer) <= len(labels):
            return int(answer) - 1
        highest = len(labels)
        say(f"Type a number from {0 if allow_back else 1} to {highest}.")


def _report(knowledge: Knowledge, intent_id: str, outcome: Teaching, say: Say) -> None:
    if outcome.taught:
        say(f'Taught: {len(outcome.taught)} phrasing(s) as "{taught_as(knowledge, intent_id)}".')
    if outcome.refused:
        say(f"Not taught: {outcome.reasons()}.")


def _topic_of(knowledge: Knowledge, intent_id: str | None) -> str | None:
    """``intent_id`` when it is a topic with an answer (a closest topic can be taught)."""
    return intent_id if intent_id is not None and intent_id in knowledge.responses else None


def _plain(html_text: str) -> str:
    return terminal_wording(plain_text(html_text))
