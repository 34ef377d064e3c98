"""Reports the clinic reads: /stats, /gaps and the questions-per-day chart."""

from __future__ import annotations

import random
import struct
import time
import zlib
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.analytics.chart import BAR, HEIGHT, WIDTH, questions_per_day_png
from bot.analytics.records import Source, Stats
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
    "do you sell gift vouchers?",
    "Gift vouchers?",
    "do you sell gift vouchers?",
    "does a tattoo hurt",
    "can I bring my dog with me?",
    "gift voucher for my mum's birthday",
    "do you sell gift vouchers?",
    "asdfgh qwerty",
]


def test_similar_questions_are_grouped_most_frequent_first(engine: DialogueEngine) -> None:
    gaps = find_gaps(UNANSWERED, engine)

    assert [(gap.count, gap.phrasings) for gap in gaps] == [(5, 3), (2, 2), (1, 1), (1, 1)]
    vouchers, dogs, tattoo, noise = gaps
    # The phrasing asked most often leads its group; the others follow, each once.
    assert vouchers.examples[0] == "do you sell gift vouchers?"
    assert sorted(vouchers.examples[1:]) == ["Gift vouchers?", "gift voucher for my mum's birthday"]
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


def read_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Check the signature, chunk order and CRCs; return width, height and pixel rows."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        position += 12 + length
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour_type, interlace) == (8, 3, 0)  # 8-bit palette, as drawn
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    assert len(raw) == height * (width + 1)
    rows = [raw[y * (width + 1) : (y + 1) * (width + 1)] for y in range(height)]
    assert all(row[0] == 0 for row in rows)  # filter "none"
    return width, height, [row[1:] for row in rows]


def bar_heights(rows: list[bytes]) -> list[int]:
    """Heights of the bars, left to right, from the pixels of the bar colour."""
    width = len(rows[0])
    column_heights = [sum(row[x] == BAR for row in rows) for x in range(width)]
    bars: list[int] = []
    previous = 0
    for height in column_heights:
        if height and not previous:
            bars.append(height)
        previous = height
    return bars


def days(counts: list[int]) -> list[tuple[date, int]]:
    return [(date(2024, 5, 1) + timedelta(days=i), count) for i, count in enumerate(counts)]


def test_chart_is_a_valid_png_with_one_bar_per_day_in_proportion() -> None:
    width, height, rows = read_png(questions_per_day_png(days([4, 0, 8, 2, 0, 6, 1])))
    assert (width, height) == (WIDTH, HEIGHT) == (600, 300)
    bars = bar_heights(rows)
    assert len(bars) == 5  # the two days without questions have no bar
    tallest = bars[1]
    assert (
        bars == [pytest.approx(tallest * count / 8, abs=1) for count in (4, 8, 2, 6, 1)]
        and tallest > 150
    )


@pytest.mark.parametrize("counts", [[0] * 30, [3], [0], [i % 7 for i in range(60)]])
def test_chart_handles_empty_single_and_long_periods(counts: list[int]) -> None:
    width, height, rows = read_png(questions_per_day_png(days(counts)))
    assert (width, height) == (600, 300)
    assert len(bar_heights(rows)) <= len(counts)
    if not any(counts):
        assert bar_heights(rows) == []


def test_chart_with_no_days_at_all_is_still_an_image() -> None:
    assert read_png(questions_per_day_png([], title="x" * 200))[:2] == (600, 300)
