"""The /stats chart: what became of each day's questions, the top topics, where people came
from. One PNG, drawn with matplotlib, sized to read on a phone.

matplotlib is imported on the first chart, not when the bot starts (start-up time and memory
stay as they were), and only its object API is used (a ``Figure`` of its own, the Agg
renderer, no pyplot state), so charts can be drawn in a worker thread while the bot goes on
answering. ``chart_series`` is what the picture shows, as numbers (the tests read it).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.analytics.records import DayOutcomes
from bot.analytics.reports import SOURCE_NAMES
from bot.analytics.store import EventStore
from bot.content.knowledge import Knowledge
from bot.content.settings import clinic_zone

if TYPE_CHECKING:  # imported with the first chart, not at start-up
    from matplotlib.axes import Axes

WIDTH_INCHES, HEIGHT_INCHES, DPI = 8.0, 10.5, 100  # 800 x 1050 pixels: a phone's screen
# Outcome -> (label, colour); stacked in this order, from the bottom.
OUTCOMES: dict[str, tuple[str, str]] = {
    "answered": ("Answered", "#2e8b7a"),
    "clarified": ('"Did you mean"', "#7fb8e0"),
    "safety": ("Safety", "#d9534f"),
    "fell_back": ("Not answered", "#f0ad4e"),
    "handed_off": ("Handed to staff", "#8e6bb8"),
}
RATE_COLOUR = "#222222"
TOP_TOPICS = 5
CHART_DAYS = 30


@dataclass(frozen=True)
class ChartSeries:
    """The numbers behind the chart."""

    days: list[str]  # day labels, oldest first ("3 Dec")
    outcomes: dict[str, list[int]]  # OUTCOMES key -> one count per day
    answer_rate: list[float | None]  # per day, percent; None on a day without questions
    topics: list[tuple[str, int]]  # (title, answers), most asked first
    sources: list[tuple[str, int]]  # (where from, questions), most first


def chart_series(
    days: Sequence[DayOutcomes],
    top_intents: Sequence[tuple[str, int]],
    sources: Mapping[str, int],
    titles: Mapping[str, str],
) -> ChartSeries:
    """The chart's numbers from the store's figures (topic ids shown by their titles)."""
    return ChartSeries(
        days=[f"{d.day.day} {d.day:%b}" for d in days],
        outcomes={key: [int(getattr(d, key)) for d in days] for key in OUTCOMES},
        answer_rate=[None if d.answer_rate is None else 100.0 * d.answer_rate for d in days],
        topics=[(titles.get(i, i), n) for i, n in top_intents[:TOP_TOPICS]],
        sources=sorted(
            ((SOURCE_NAMES.get(s, s), n) for s, n in sources.items()), key=lambda item: -item[1]
        ),
    )


def month_series(store: EventStore, knowledge: Knowledge) -> ChartSeries:
    """The last CHART_DAYS days' numbers, days in the clinic's time zone (reads the store:
    in the bot, call it through the database thread)."""
    month = store.stats(CHART_DAYS)
    days = store.daily_outcomes(CHART_DAYS, clinic_zone(knowledge.settings))
    titles = {intent_id: r.title for intent_id, r in knowledge.responses.items()}
    return chart_series(days, month.top_intents, month.sources, titles)


def chart_title(knowledge: Knowledge) -> str:
    name = str((knowledge.settings.get("clinic") or {}).get("name") or "Questions")
    return f"{name}: the last {CHART_DAYS} days"


def stats_chart_png(series: ChartSeries, title: str) -> bytes:
    """The chart as PNG bytes (safe to call from a worker thread)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    per_day, topics, origins = figure.subplots(3, 1, gridspec_kw={"height_ratios": [3.2, 1.6, 1.4]})
    figure.suptitle(title, fontsize=15, fontweight="bold")
    _draw_days(per_day, series)
    _draw_bars(topics, series.topics, "Top topics (answers)", OUTCOMES["answered"][1])
    _draw_bars(origins, series.sources, "Where questions came from", "#5b7db1")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _draw_days(axes: Axes, series: ChartSeries) -> None:
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    positions = list(range(len(series.days)))
    bottom = [0] * len(positions)
    for key, (label, colour) in OUTCOMES.items():
        counts = series.outcomes[key]
        axes.bar(positions, counts, bottom=bottom, color=colour, label=label, width=0.8)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    axes.set_title("Questions per day", loc="left", fontsize=12)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    step = max(1, len(positions) // 6)  # about six date labels, readable on a phone
    axes.set_xticks(positions[::step], series.days[::step], fontsize=10)
    axes.set_xlim(-0.6, max(len(positions) - 0.4, 0.6))
    axes.grid(axis="y", color="#e6e6e6")
    axes.set_axisbelow(True)
    rate = axes.twinx()
    rate_points = [
        (p, r) for p, r in zip(positions, series.answer_rate, strict=True) if r is not None
    ]
    if rate_points:
        xs, ys = zip(*rate_points, strict=True)
        rate.plot(xs, ys, color=RATE_COLOUR, marker="o", markersize=3, label="Answer rate")
    rate.set_ylim(0, 105)
    rate.yaxis.set_major_formatter(PercentFormatter())
    handles, labels = axes.get_legend_handles_labels()
    rate_handles, rate_labels = rate.get_legend_handles_labels()
    axes.legend(
        handles + rate_handles,
        labels + rate_labels,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.1),
        ncol=3,
        fontsize=9,
        frameon=False,
    )
    if not any(bottom):
        axes.text(0.5, 0.5, "No questions yet", transform=axes.transAxes, ha="center")


def _draw_bars(axes: Axes, items: Sequence[tuple[str, int]], title: str, colour: str) -> None:
    axes.set_title(title, loc="left", fontsize=12)
    if not items:
        axes.text(0.5, 0.5, "Nothing yet", transform=axes.transAxes, ha="center")
        axes.set_axis_off()
        return
    labels = [label if len(label) <= 32 else label[:31] + "\u2026" for label, _ in items]
    counts = [count for _, count in items]
    positions = list(range(len(items)))
    axes.barh(positions, counts, color=colour)
    axes.set_yticks(positions, labels, fontsize=10)
    axes.invert_yaxis()  # the biggest on top
    for position, count in zip(positions, counts, strict=True):
        axes.text(count, position, f" {count}", va="center", fontsize=9)
    axes.set_xlim(0, max(counts) * 1.15)
    axes.tick_params(axis="x", labelbottom=False, length=0)
    for side in ("top", "right", "bottom"):
        axes.spines[side].set_visible(False)
