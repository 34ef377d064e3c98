"""The terminal chat as a newcomer meets it: a transcript that reads as a conversation,
numbers that pick, the commands that make sense without Telegram."""

from __future__ import annotations

import io

from bot.console import chat
from bot.content.html_text import plain_text
from bot.content.knowledge import Knowledge
from bot.engine import DialogueEngine


def transcript(engine: DialogueEngine, *lines: str) -> str:
    out = io.StringIO()
    chat(engine, [f"{line}\n" for line in lines], out, interactive=False)
    return out.getvalue()


def test_piped_questions_are_echoed_so_the_transcript_reads_as_a_conversation(
    engine: DialogueEngine, knowledge: Knowledge
) -> None:
    text = transcript(engine, "does it hurt?")
    asked, answered = text.split("\n> does it hurt?\n", 1)
    assert plain_text(knowledge.responses["does_it_hurt"].answer) in answered
    assert "tap" not in asked and "pick a topic below" in asked  # numbers, not buttons


def test_topics_are_browsed_by_number(engine: DialogueEngine, knowledge: Knowledge) -> None:
    categories = list(knowledge.categories().items())
    name, intent_ids = categories[1]
    text = transcript(engine, "/topics", "2", "1")
    menu = text.split("> /topics", 1)[1]
    assert f"  2. {name}" in menu
    assert f"  1. {knowledge.title(intent_ids[0])}" in text.split("> 2", 1)[1]
    assert plain_text(knowledge.responses[intent_ids[0]].answer) in text.split("> 1", 1)[1]


def test_a_number_that_is_not_offered_says_so(engine: DialogueEngine) -> None:
    text = transcript(engine, "/topics", "9", "/human", "2")
    assert "There is no option 9: pick a number from 1 to 4" in text
    assert "There is no option 2 here" in text.split("> 2", 1)[1]
    assert "Sorry, I don't know" not in text  # never the fallback for a mistyped pick


def test_human_and_help_work_without_telegram(engine: DialogueEngine, knowledge: Knowledge) -> None:
    text = transcript(engine, "/human", "/help")
    human = text.split("> /human", 1)[1].split("> /help", 1)[0]
    clinic = knowledge.settings["clinic"]
    assert "can't pass your question to the team" in human
    assert str(clinic["phone"]) in human and str(clinic["email"]) in human
    help_text = text.split("> /help", 1)[1]
    assert all(category in help_text for category in knowledge.categories())
    assert "/topics" in help_text
