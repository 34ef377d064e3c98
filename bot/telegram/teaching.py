"""The clinic teaches its bot (admins): /gaps shows each group of unanswered questions with
Add to <nearest topic>, Another topic…, Not ours, Write an answer later and Skip; /learned
lists what was taught, with Undo; /todo the answers to write. A taught phrasing is checked,
kept in the database and learned at once: the matcher retrains off the event loop."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from typing import TypeVar

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.analytics.learning import taught_as, teach, with_lessons
from bot.analytics.reports import Gap, find_gaps, gaps_report
from bot.content.html_text import plain_text, split_message
from bot.content.loader import check_content
from bot.content.problems import Severity
from bot.engine import DialogueEngine
from bot.nlu.classifier import OUT_OF_SCOPE
from bot.telegram import keyboards
from bot.telegram.context import BotContext, GapCard
from bot.telegram.services import admin_only, is_admin, pressed_button, titles, toast

log = logging.getLogger(__name__)
_MAX_LEARNED_SHOWN = 20


@admin_only
async def on_gaps(update: Update, context: BotContext) -> None:
    """What people asked that the bot could not answer, most frequent first; then each group
    in turn, to teach: add it to its closest topic, mark it not ours, or skip it."""
    message = update.effective_message
    if message is None:
        return
    gaps = await current_gaps(context)
    for part in split_message(gaps_report(gaps, titles(context.engine.knowledge))):
        await message.reply_text(part)
    context.user.review = [
        GapCard(tuple(gap.examples), gap.nearest_intent, gap.count) for gap in gaps
    ]
    if gaps:
        await _show_card(message, context, 0)


async def current_gaps(context: BotContext) -> list[Gap]:
    """The last 30 days' unanswered questions, grouped: read in the database thread, grouped
    in a worker thread (each is asked again, and compared with the others), so patients
    are answered meanwhile."""
    database = context.database
    questions = await database.call(database.store.unanswered, 30)
    return await asyncio.to_thread(find_gaps, questions, context.engine)


async def _show_card(message: Message, context: BotContext, index: int) -> None:
    knowledge = context.engine.knowledge
    review = context.user.review
    if index >= len(review):
        await message.reply_text(knowledge.message("gaps_done"))
        return
    card = review[index]
    known = card.nearest is not None and card.nearest in knowledge.responses
    nearest = knowledge.title(card.nearest) if known and card.nearest else "none"
    examples = "\n".join(f"\u2022 {example}" for example in card.examples)
    text = knowledge.say("gaps_card", count=card.count, examples=examples, nearest=nearest)
    buttons = []
    if known:
        label = knowledge.say("gaps_add", topic=nearest)
        buttons.append(keyboards.button(plain_text(label)[:60], keyboards.Teach("add", index)))
    others: tuple[tuple[str, keyboards.TeachAction], ...] = (
        ("gaps_other", "other"),
        ("gaps_not_ours", "out"),
        ("gaps_todo", "todo"),
        ("gaps_skip", "skip"),
    )
    for key, action in others:
        buttons.append(keyboards.button(knowledge.message(key), keyboards.Teach(action, index)))
    await message.reply_text(text, reply_markup=InlineKeyboardMarkup([[b] for b in buttons]))


async def on_teach_button(update: Update, context: BotContext) -> None:
    """Add to <topic> / Another topic / Not ours / Write an answer later / Skip under a
    /gaps group; admins only."""
    decided = await _decide(update, context, keyboards.Teach.parse)
    if decided is None:
        return
    message, data, card, user_id = decided
    knowledge, database = context.engine.knowledge, context.database
    if data.action == "other":
        categories = list(knowledge.categories())
        rows = [
            [keyboards.button(name, keyboards.TeachMenu(data.index, number))]
            for number, name in enumerate(categories)
        ]
        text = knowledge.message("gaps_pick_topic")
        await message.reply_text(text, reply_markup=InlineKeyboardMarkup(rows))
        return  # the group is decided in that menu
    if data.action == "skip":
        await message.reply_text(knowledge.message("gaps_skipped"))
    elif data.action == "todo":
        noted = await database.call(database.store.add_todo, list(card.examples), card.count)
        await message.reply_text(
            knowledge.message("gaps_todo_noted" if noted else "gaps_todo_listed")
        )
    else:
        intent_id = card.nearest if data.action == "add" else OUT_OF_SCOPE
        await message.reply_text(await _teach(context, card, intent_id, user_id))
    await _show_card(message, context, data.index + 1)


async def on_teach_menu_button(update: Update, context: BotContext) -> None:
    """A category chosen under "Another topic…": its topics, to teach the group to one."""
    pressed = await pressed_button(update, context, keyboards.TeachMenu.parse)
    if pressed is None:
        return
    query, message, data = pressed
    knowledge = context.engine.knowledge
    categories = list(knowledge.categories().values())
    if not is_admin(update, context) or not 0 <= data.category < len(categories):
        await query.answer(toast(knowledge.message("stale_button")))
        return
    await query.answer()
    rows = [
        [keyboards.button(knowledge.title(intent_id), keyboards.TeachTo(data.index, intent_id))]
        for intent_id in categories[data.category]
    ]
    await message.edit_reply_markup(reply_markup=InlineKeyboardMarkup(rows))


async def on_teach_to_button(update: Update, context: BotContext) -> None:
    """The topic chosen under "Another topic…": teach the group to it."""
    decided = await _decide(update, context, keyboards.TeachTo.parse)
    if decided is None:
        return
    message, data, card, user_id = decided
    await message.reply_text(await _teach(context, card, data.intent_id, user_id))
    await _show_card(message, context, data.index + 1)


_Choice = TypeVar("_Choice", keyboards.Teach, keyboards.TeachTo)


async def _decide(
    update: Update, context: BotContext, parse: Callable[[str], _Choice | None]
) -> tuple[Message, _Choice, GapCard, int] | None:
    """A teaching button pressed by an admin, for a group still under review: its buttons
    go (each group is decided once; a double tap finds them gone and does nothing)."""
    pressed = await pressed_button(update, context, parse)
    if pressed is None:
        return None
    query, message, data = pressed
    review = context.user.review
    if not is_admin(update, context) or data.index >= len(review):
        await query.answer(toast(context.engine.knowledge.message("stale_button")))
        return None
    await query.answer()
    try:
        await message.edit_reply_markup(reply_markup=None)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise
        return None  # a double tap: the first press is deciding already
    return message, data, review[data.index], query.from_user.id


@admin_only
async def on_todo(update: Update, context: BotContext) -> None:
    """The groups of questions put aside to write an answer for, newest first."""
    message = update.effective_message
    if message is None:
        return
    knowledge, database = context.engine.knowledge, context.database
    todos = await database.call(database.store.todos)
    if not todos:
        await message.reply_text(knowledge.message("todo_none"))
        return
    lines = [knowledge.message("todo_intro"), ""]
    for examples, asked in todos:
        said = "; ".join(html.escape(example, quote=False) for example in examples)
        lines.append(f"\u2022 {said} (asked {asked} times)")
    for part in split_message("\n".join(lines)):
        await message.reply_text(part)


async def _teach(context: BotContext, card: GapCard, intent_id: str | None, user_id: int) -> str:
    """Keep the group's phrasings as examples of ``intent_id`` and retrain; say what happened."""
    engine, database = context.engine, context.database
    knowledge = engine.knowledge
    outcome = await database.call(
        teach, engine, database.store, card.examples, intent_id or "", user_id
    )
    said = []
    if outcome.taught:
        await retrain(context)
        topic = taught_as(knowledge, str(intent_id))
        said.append(knowledge.say("gaps_taught", count=len(outcome.taught), topic=topic))
    if outcome.refused:
        said.append(knowledge.say("gaps_refused", reasons=outcome.reasons()))
    log.info(
        "taught %d phrasing(s) from the gaps, %d refused", len(outcome.taught), len(outcome.refused)
    )
    return "\n".join(said)


async def retrain(context: BotContext, publish: bool = True) -> None:
    """Train the matcher on the content and every taught phrasing, off the event loop (the
    old engine answers meanwhile), then swap it in; ``publish`` tells the other workers
    sharing the database to do the same (``follow_changes``)."""
    database = context.database
    lessons = await database.call(database.store.learned)
    merged = with_lessons(context.bot_data.content, lessons)
    context.bot_data.engine = await asyncio.to_thread(DialogueEngine, merged)
    if publish:
        version = await database.call(database.store.publish_knowledge_change)
        context.bot_data.knowledge_version = version


async def follow_changes(context: BotContext) -> None:
    """Job: when another worker published a change (/reload, a lesson, an undo), read the
    content again and retrain with the lessons. Content that does not validate here is
    refused as /reload refuses it: the old content keeps answering."""
    database, shared = context.database, context.bot_data
    version = await database.call(database.store.knowledge_version)
    if version is None or version == shared.knowledge_version:
        return
    knowledge, problems = await asyncio.to_thread(check_content, shared.content_dir)
    if knowledge is None:
        errors = sum(problem.severity is Severity.ERROR for problem in problems)
        log.error("another worker reloaded, but the content here has %d error(s): kept", errors)
    else:
        shared.content = knowledge
        await retrain(context, publish=False)
        log.info("content and taught phrasings reloaded after a change on another worker")
    shared.knowledge_version = version  # one try per change; a fixed file needs /reload


@admin_only
async def on_learned(update: Update, context: BotContext) -> None:
    """What admins taught from the gaps, newest first, each with an Undo button."""
    message = update.effective_message
    if message is None:
        return
    knowledge, database = context.engine.knowledge, context.database
    lessons = (await database.call(database.store.learned))[:_MAX_LEARNED_SHOWN]
    if not lessons:
        await message.reply_text(knowledge.message("learned_none"))
        return
    lines = [knowledge.message("learned_intro"), ""]
    for number, lesson in enumerate(lessons, start=1):
        said = html.escape(lesson.text, quote=False)
        topic = taught_as(knowledge, lesson.intent_id)
        lines.append(f"{number}. {said} \u2192 {html.escape(topic)}")
    undo = [
        keyboards.button(knowledge.say("learned_undo", number=n), keyboards.Unlearn(lesson.id))
        for n, lesson in enumerate(lessons, start=1)
    ]
    rows = [undo[i : i + 4] for i in range(0, len(undo), 4)]
    await message.reply_text("\n".join(lines), reply_markup=InlineKeyboardMarkup(rows))


async def on_unlearn_button(update: Update, context: BotContext) -> None:
    """Undo one taught phrasing and retrain; admins only."""
    pressed = await pressed_button(update, context, keyboards.Unlearn.parse)
    if pressed is None:
        return
    query, message, data = pressed
    knowledge, database = context.engine.knowledge, context.database
    if not is_admin(update, context):
        await query.answer(toast(knowledge.message("admin_only")))
        return
    lesson = await database.call(database.store.forget_learned, data.learned_id)
    if lesson is None:  # undone already (a double tap, or another admin)
        await query.answer(toast(knowledge.message("stale_button")))
        return
    await query.answer()
    await retrain(context)
    topic = taught_as(knowledge, lesson.intent_id)
    await message.reply_text(knowledge.say("learned_undone", text=lesson.text, topic=topic))
