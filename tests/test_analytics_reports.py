"""Reports the clinic reads: /stats, /gaps and the questions-per-day chart."""

from __future__ import annotations

import io
import random
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.analytics.chart import OUTCOMES, chart_series, stats_chart_png
from bot.analytics.records import DayOutcomes, Source, Stats
from bot.analytics.reports import (
    Gap,
    as_plain_text,
    find_gaps,
    gaps_report,
    stats_report,
)
from bot.analytics.store import EventStore
from bot.content.html_text import html_problems
from bot.engine import DialogueEngine, ReplyKind
from bot.nlu.classifier import OUT_OF_SCOPE
from tests.support.events import record_event

TITLES = {"pricing": "Prices & offers", "does_it_hurt": "Does it hurt?"}

# -- gaps ----------------------------------------------------------------------------------

UNANSWERED = [  # newest first, as EventStore.unanswered returns them
    "can I bring my dog",
    "do you sell skincare products?",
    "Skincare products?",
    "do you sell skincare products?",
    "does a tattoo hurt",
    "can I bring my dog with me?",
    "skincare products for my mum's birthday",
    "do you sell skincare products?",
    "asdfgh qwerty",
]


def test_similar_questions_are_grouped_most_frequent_first(engine: DialogueEngine) -> None:
    gaps = find_gaps(UNANSWERED, engine)

    assert [(gap.count, gap.phrasings) for gap in gaps] == [(5, 3), (2, 2), (1, 1), (1, 1)]
    skincare, dogs, tattoo, noise = gaps
    # The phrasing asked most often leads its group; the others follow, each once.
    assert skincare.examples[0] == "do you sell skincare products?"
    assert sorted(skincare.examples[1:]) == [
        "Skincare products?",
        "skincare products for my mum's birthday",
    ]
    assert set(dogs.examples) == {"can I bring my dog", "can I bring my dog with me?"}
    assert tattoo.examples == ["does a tattoo hurt"]
    assert noise.examples == ["asdfgh qwerty"]


def test_nearest_intent_is_a_real_topic_never_out_of_scope(engine: DialogueEngine) -> None:
    tattoo = find_gaps(["does a tattoo hurt"], engine)[0]
    ranked = engine.rank("does a tattoo hurt")
    assert ranked[0].intent_id == OUT_OF_SCOPE  # the matcher's best guess is not a topic
    best_real = next(c for c in ranked if c.intent_id != OUT_OF_SCOPE)
    assert (tattoo.nearest_intent, tattoo.nearest_score) == (best_real.intent_id, best_real.score)
    assert tattoo.nearest_intent in engine.knowledge.intents

    nothing = find_gaps(["asdfgh qwerty"], engine)[0]
    assert nothing.nearest_score < engine.thresholds.clarify  # named, but clearly not it


def test_what_the_bot_answers_by_now_is_no_gap(engine: DialogueEngine) -> None:
    assert engine.respond("do you sell gift vouchers?").answered_intent == "gift_vouchers"
    gaps = find_gaps(["do you sell gift vouchers?", "does a tattoo hurt"], engine)
    assert [gap.examples for gap in gaps] == [["does a tattoo hurt"]]


def test_gaps_limit_and_empty_input(engine: DialogueEngine) -> None:
    assert len(find_gaps(UNANSWERED, engine, limit=2)) == 2
    assert find_gaps([], engine) == []
    assert find_gaps(["", "   ", "?!"], engine) == []


def test_a_few_thousand_questions_are_grouped_quickly(engine: DialogueEngine) -> None:
    rng = random.Random(5)
    subjects = [
        *("dog", "cat", "wheelchair", "lift", "toilet", "wifi", "coffee", "children", "baby"),
        *("husband", "mask", "lipstick", "makeup", "gym", "sauna", "swimming", "flight"),
        *("alcohol", "wine", "tea", "tattoo", "piercing", "filler", "laser", "peel"),
        *("retinol", "sunscreen", "period", "lenses", "glasses", "parking", "voucher"),
        *("groupon", "bus", "train", "bike"),
    ]
    openings = ["can I bring my", "is there a", "do you have", "what about", "any", "ok to use"]
    endings = ["", "?", " after the session", " at the clinic", " on saturday", " for my mum"]
    questions = [
        f"{rng.choice(openings)} {rng.choice(subjects)} {rng.choice(subjects)}{rng.choice(endings)}"
        for _ in range(3000)
    ]
    started = time.perf_counter()
    gaps = find_gaps(questions, engine)
    assert time.perf_counter() - started < 3.0
    assert len(gaps) == 10
    counts = [gap.count for gap in gaps]
    assert counts == sorted(counts, reverse=True)


# -- /gaps text ----------------------------------------------------------------------------


def test_gaps_report_lists_groups_with_counts_and_nearest_topic() -> None:
    gaps = [
        Gap(12, ["how do I park?", "parking?", "car park"], "pricing", 58.4, phrasings=3),
        Gap(1, ["<script>alert(1)</script> & co"], None, 0.0),
    ]
    text = gaps_report(gaps, TITLES)
    assert html_problems(text) == []
    plain = as_plain_text(text)
    assert "12\u00d7 «how do I park?» (+2 similar) → nearest: Prices & offers (58)" in plain
    assert "also: «parking?», «car park»" in plain
    assert "1\u00d7 «<script>alert(1)</script> & co» → no close topic" in plain
    assert "13 questions in 2 groups" in plain


def test_gaps_report_when_nothing_was_left_unanswered() -> None:
    assert gaps_report([], TITLES) == "No unanswered questions in the last 30 days."
    assert gaps_report([], TITLES, days=7) == "No unanswered questions in the last 7 days."


def test_long_gaps_report_is_cut_to_one_message_and_says_how_many_more() -> None:
    long_question = "is there anything I should know about " + "very " * 40 + "long questions"
    gaps = [Gap(100 - i, [f"{i} {long_question}"] * 3, "pricing", 50.0, 3) for i in range(80)]
    text = gaps_report(gaps, TITLES)
    assert len(text) <= 4000
    assert html_problems(text) == []
    shown = text.count("\u00d7")
    assert 0 < shown < 80
    assert text.endswith(f"… and {80 - shown} more groups.")
    assert "…»" in text  # long questions are shortened


# -- /stats text ---------------------------------------------------------------------------


def stats_with_traffic() -> tuple[Stats, Stats]:
    clock_time = datetime(2024, 5, 15, 12, tzinfo=UTC)
    with EventStore.in_memory(clock=lambda: clock_time) as store:
        post = store.record_post(
            intent_id="pricing", channel="@clinic", message_id=7, tag=store.next_post_tag()
        )
        store.record_post(intent_id="does_it_hurt", channel="@clinic", message_id=8, tag="post2")
        for _ in range(5):
            record_event(store, source=Source.DEEP_LINK, score=100, tag=post.tag)
        event = record_event(
            store,
            user_id=2,
            chat_type="group",
            source=Source.GROUP,
            intent_id="removed_intent",
            score=80,
        )
        store.set_feedback(event, 2, helpful=True)
        for _ in range(2):
            record_event(
                store,
                user_id=3,
                kind=ReplyKind.FALLBACK,
                intent_id=None,
                score=10,
                text="<b>parking</b>?",
            )
        return store.stats(7), store.stats(30)


def test_stats_report_shows_both_windows_with_rates_topics_sources_and_posts() -> None:
    week, month = stats_with_traffic()
    text = stats_report(week, month, TITLES)
    assert html_problems(text) == []
    plain = as_plain_text(text)
    week_part, month_part = plain.split("\n\n")
    assert week_part.startswith("Last 7 days")
    assert month_part.startswith("Last 30 days")
    for expected in [
        "Questions: 8",
        "Answered: 6 (75%)",
        "Unanswered: 2 (25%)",
        "Helpful: 100% (1 yes, 0 no)",
        "1. Prices & offers: 5",
        "2. removed_intent: 1",  # an intent no longer in the content shows its id
        "Sources: deep links 5, private chat 2, groups 1",
        "Deep links: post1 5",
        "post1 (Prices & offers): 5 visits",
    ]:
        assert expected in week_part
    assert "post2" not in plain  # a post nobody came from is not listed
    assert "&amp;" in text  # titles are escaped in the HTML


def test_stats_report_is_readable_when_empty() -> None:
    with EventStore.in_memory() as store:
        text = stats_report(store.stats(7), store.stats(30), TITLES)
    assert html_problems(text) == []
    assert (
        as_plain_text(text) == "Last 7 days\nNo questions yet.\n\nLast 30 days\nNo questions yet."
    )


def test_stats_without_votes_say_so_instead_of_a_rate() -> None:
    with EventStore.in_memory() as store:
        record_event(store, score=90)
        plain = as_plain_text(stats_report(store.stats(7), store.stats(30), TITLES))
    assert "Helpful: no votes yet" in plain
    assert "Answered: 1 (100%)" in plain


# -- chart ---------------------------------------------------------------------------------


def test_chart_numbers_stack_each_days_outcomes_in_the_clinics_time_zone() -> None:
    clock_time = datetime(2024, 5, 15, 23, 30, tzinfo=UTC)  # already the 16th in Paris
    with EventStore.in_memory(clock=lambda: clock_time) as store:
        record_event(store)
        record_event(store, kind=ReplyKind.FALLBACK, intent_id=None)
        record_event(store, kind=ReplyKind.SMALLTALK, intent_id="greeting")  # not a question
        store.save_handoff(staff_chat_id=-1, staff_message_id=1, user_chat_id=5, user_id=5)
        store.save_handoff(staff_chat_id=-1, staff_message_id=2, user_chat_id=5, user_id=5)
        days = store.daily_outcomes(3, ZoneInfo("Europe/Paris"))
        month = store.stats(30)
    series = chart_series(days, month.top_intents, month.sources, TITLES)
    assert series.days == ["14 May", "15 May", "16 May"]
    assert series.outcomes["answered"] == [0, 0, 1]
    assert series.outcomes["fell_back"] == [0, 0, 1]
    assert series.outcomes["handed_off"] == [0, 0, 1]  # one question, sent in two parts
    assert series.answer_rate == [None, None, 50.0]
    assert series.topics == [("Prices & offers", 1)]
    assert series.sources == [("private chat", 2)]


def test_the_chart_is_a_phone_sized_png_with_its_series_drawn() -> None:
    from matplotlib.image import imread

    _, month = stats_with_traffic()
    day = date(2024, 5, 15)
    days = [DayOutcomes(day - timedelta(days=2 - i), answered=i * 3, fell_back=1) for i in range(3)]
    png = stats_chart_png(chart_series(days, month.top_intents, month.sources, TITLES), "Demo")
    pixels = imread(io.BytesIO(png), format="png")
    assert pixels.shape[:2] == (1050, 800)
    answered = tuple(int(OUTCOMES["answered"][1][i : i + 2], 16) / 255 for i in (1, 3, 5))
    coloured = ((abs(pixels[:, :, :3] - answered) < 0.02).all(axis=2)).sum()
    assert coloured > 2000  # the answered bars (and the topics' bars) are there


def test_a_chart_with_no_questions_yet_is_still_a_chart() -> None:
    with EventStore.in_memory() as store:
        series = chart_series(store.daily_outcomes(30), [], {}, TITLES)
    assert sum(map(sum, series.outcomes.values())) == 0
    assert stats_chart_png(series, "x" * 200)[:8] == b"\x89PNG\r\n\x1a\n"
