"""Benchmark 2: updates per second through the real Application, offline.

The bot is built by ``bot.telegram.application.build_application`` exactly as in
production, except that its request layer answers every Bot API call locally with a canned
reply (``CannedRequest`` over the tests' offline request layer: no network, no HTML checks,
no call recording beyond a counter).
It processes a deterministic mix of updates, 70% free-text questions, 20% button presses
(``a:<intent_id>``) and 10% inline queries, each turned from a dict into an ``Update`` and
passed to ``await application.process_update(update)`` one after the other, as the webhook
and polling loops do.

Three applications run in the same process and the same run:

* the bot as built, with ``AIORateLimiter``: it holds outgoing messages to Telegram's
  limit of 30 per second, so this figure is that limit, not the bot's cost;
* the bot with the limiter swapped for a pass-through one: the bot's own cost per update;
* a bare PTB Application with a single echo ``MessageHandler``: the floor that PTB itself
  sets (it has nothing to do for button presses and inline queries).

The last two alternate over several rounds so machine noise hits both alike; the figures
are medians over rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, BaseRateLimiter, MessageHandler, filters
from telegram.request import RequestData

from bench.common import PROJECT_ROOT, Row, fmt_ns, fmt_ratio, median, percentile, table
from bot.analytics.database_url import Database
from bot.content.knowledge import Knowledge
from bot.content.loader import load_knowledge
from bot.evaluation import load_eval_set
from bot.paths import default_content_dir
from bot.telegram.application import build_application
from bot.telegram.context import BotData
from bot.telegram.settings import BotSettings
from tests.support.offline_request import OfflineRequest, ok

_UPDATE_IDS = itertools.count(1)

TOKEN = "777000:offline-benchmark"
BOT_USER = {"id": 777000, "is_bot": True, "first_name": "Clinic FAQ", "username": "clinic_bot"}
THROUGHPUT_TARGET = 1000.0
MIX = (("question", 0.7), ("button", 0.2), ("inline", 0.1))
_PLURAL = {"question": "questions", "button": "button presses", "inline": "inline queries"}
QUESTION_FILES = ("tests/data/eval_set.yaml", "tests/data/holdout_set.yaml")

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class CannedRequest(OfflineRequest):
    """Answers every Bot API call with a canned, valid reply (the tests' offline request
    layer, without their recording: the benchmark measures the bot, not the harness).

    It still asks PTB for the JSON-encoded parameters, as HTTPXRequest does before sending,
    so the encoding cost of a real request is paid; it only counts calls per method.
    """

    _MESSAGE = ok(
        {
            "message_id": 5000,
            "date": 1_700_000_000,
            "chat": {"id": 1000, "type": "private", "first_name": "Ana"},
            "from": BOT_USER,
            "text": "ok",
        }
    )
    _REPLIES: dict[str, bytes] = {  # noqa: RUF012 - read-only table of canned replies
        "getMe": ok(BOT_USER),
        "sendMessage": _MESSAGE,
        "editMessageText": _MESSAGE,
    }
    _TRUE = ok(True)

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    async def answer(self, method: str, request_data: RequestData | None) -> tuple[int, bytes]:
        self.calls[method] += 1
        if request_data is not None:
            request_data.json_parameters  # noqa: B018 - the encoding a real request pays
        return 200, self._REPLIES.get(method, self._TRUE)


class PassThroughLimiter(BaseRateLimiter[int]):
    """Stands in for AIORateLimiter to measure the bot's cost without the 30/s throttle."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass  # accepts AIORateLimiter's arguments (max_retries=3) and ignores them

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        return await callback(*args, **kwargs)


@dataclass(frozen=True)
class RunResult:
    """One application processing one batch of updates."""

    updates: int
    wall_s: float
    cpu_s: float
    per_kind_ns: dict[str, tuple[int, ...]]
    calls: Counter[str]
    errors: int

    @property
    def per_second(self) -> float:
        return self.updates / self.wall_s


@dataclass(frozen=True)
class E2EResult:
    """Throughputs of the three applications."""

    updates: int
    rounds: int
    as_is: RunResult
    bot: list[RunResult]
    echo: list[RunResult]

    @property
    def bot_per_second(self) -> float:
        return median([r.per_second for r in self.bot])

    @property
    def echo_per_second(self) -> float:
        return median([r.per_second for r in self.echo])

    @property
    def cost_ratio(self) -> float:
        """Bot's time per update over the echo bot's, from the medians."""
        return self.echo_per_second / self.bot_per_second


def make_updates(
    knowledge: Knowledge, count: int, seed: int = 22
) -> list[tuple[str, dict[str, Any]]]:
    """``count`` (kind, update dict) pairs in the 70/20/10 mix, deterministic for a seed."""
    rng = random.Random(seed)
    questions = _questions(knowledge)
    intent_ids = sorted(knowledge.responses)
    kinds = [kind for kind, _ in MIX]
    weights = [share for _, share in MIX]
    update_ids = itertools.count(1)
    updates: list[tuple[str, dict[str, Any]]] = []
    for _ in range(count):
        kind = rng.choices(kinds, weights)[0]
        user_id = rng.randrange(1000, 2000)
        user = {"id": user_id, "is_bot": False, "first_name": "Ana"}
        chat = {"id": user_id, "type": "private", "first_name": "Ana"}
        update_id = next(update_ids)
        if kind == "question":
            body: dict[str, Any] = {
                "message": {
                    "message_id": update_id,
                    "date": 1_700_000_000,
                    "chat": chat,
                    "from": user,
                    "text": rng.choice(questions),
                }
            }
        elif kind == "button":
            body = {
                "callback_query": {
                    "id": f"cq{update_id}",
                    "from": user,
                    "chat_instance": "ci",
                    "data": f"a:{rng.choice(intent_ids)}",
                    "message": {
                        "message_id": 4000,
                        "date": 1_700_000_000,
                        "chat": chat,
                        "from": BOT_USER,
                        "text": "menu",
                    },
                }
            }
        else:
            # Inline queries are typed a few words at a time: a question's first words.
            words = rng.choice(questions).split()
            body = {
                "inline_query": {
                    "id": f"iq{update_id}",
                    "from": user,
                    "query": " ".join(words[: rng.randint(1, 6)]),
                    "offset": "",
                }
            }
        updates.append((kind, {"update_id": update_id, **body}))
    return updates


def _questions(knowledge: Knowledge) -> list[str]:
    """Labelled real questions when available (the evaluation sets), else the examples."""
    texts: list[str] = []
    for name in QUESTION_FILES:
        path = PROJECT_ROOT / name
        if path.is_file():
            texts += [item.text for item in load_eval_set(path)]
    return texts or [e.text for i in knowledge.intents.values() for e in i.examples]


def bot_settings(directory: Path) -> BotSettings:
    """Settings as in production, with the analytics database (if the bot has one) in
    ``directory``: a real file, so its per-update writes cost what they cost on a server."""
    names = {f.name for f in dataclasses.fields(BotSettings)}
    extra: dict[str, Any] = {}
    if "database" in names:
        extra["database"] = Database.sqlite(directory / "bench.sqlite3")
    if "analytics_salt" in names:
        extra["analytics_salt"] = "benchmark-salt"
    return BotSettings(token=TOKEN, **extra)


def bot_application(
    knowledge: Knowledge, request: CannedRequest, limiter: bool, directory: Path
) -> AnyApplication:
    """The production Application; ``limiter=False`` swaps AIORateLimiter for a pass-through."""
    settings = bot_settings(directory)
    if limiter:
        return build_application(settings, knowledge, request=request)
    with mock.patch("bot.telegram.application.AIORateLimiter", PassThroughLimiter):
        return build_application(settings, knowledge, request=request)


def echo_application(request: CannedRequest) -> AnyApplication:
    """PTB with nothing but an echo handler: the framework's own cost per update."""

    async def echo(update: Update, context: Any) -> None:
        if update.message and update.message.text:
            await update.message.reply_text(update.message.text)

    application = (
        ApplicationBuilder().token(TOKEN).request(request).get_updates_request(request).build()
    )
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return application


async def process(
    application: AnyApplication,
    request: CannedRequest,
    updates: Sequence[tuple[str, dict[str, Any]]],
) -> RunResult:
    """Feed ``updates`` one by one, timing each; errors are counted, not raised."""
    errors = 0

    async def count_error(update: object, context: Any) -> None:
        nonlocal errors
        errors += 1

    application.add_error_handler(count_error)
    request.calls.clear()
    per_kind: dict[str, list[int]] = {}
    clock = time.perf_counter_ns
    cpu_started = time.process_time()
    started = clock()
    for kind, data in updates:
        # A fresh id each time: the bot handles an update id once (its inbox), and rounds
        # replay the same questions.
        data = {**data, "update_id": next(_UPDATE_IDS)}
        t0 = clock()
        # de_json is part of the cost: a webhook or getUpdates hands PTB parsed JSON.
        await application.process_update(Update.de_json(data, application.bot))
        per_kind.setdefault(kind, []).append(clock() - t0)
    wall = (clock() - started) / 1e9
    cpu = time.process_time() - cpu_started
    application.remove_error_handler(count_error)
    return RunResult(
        len(updates),
        wall,
        cpu,
        {k: tuple(v) for k, v in per_kind.items()},
        Counter(request.calls),
        errors,
    )


async def _run(quick: bool, log: Callable[[str], None]) -> E2EResult:
    knowledge = load_knowledge(default_content_dir())
    count = 1000 if quick else 5000
    rounds = 3 if quick else 5
    # The throttled run takes about count/30 seconds: keep it short.
    as_is_count = 90 if quick else 300
    updates = make_updates(knowledge, count)
    warmup = make_updates(knowledge, 200, seed=7)

    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as directory:
        return await _run_apps(
            knowledge, updates, warmup, as_is_count, rounds, Path(directory), log
        )


async def _run_apps(
    knowledge: Knowledge,
    updates: list[tuple[str, dict[str, Any]]],
    warmup: list[tuple[str, dict[str, Any]]],
    as_is_count: int,
    rounds: int,
    directory: Path,
    log: Callable[[str], None],
) -> E2EResult:
    apps: dict[str, tuple[AnyApplication, CannedRequest]] = {}
    for name in ("as_is", "bot", "echo"):
        request = CannedRequest()
        if name == "echo":
            apps[name] = (echo_application(request), request)
        else:
            # One database each, so the throttled run's writes do not slow the other's.
            app = bot_application(knowledge, request, name == "as_is", directory / name)
            apps[name] = (app, request)

    contexts: list[AbstractAsyncContextManager[Any]] = [app for app, _ in apps.values()]
    for context in contexts:
        await context.__aenter__()  # initialize(): getMe through the offline request
    try:
        for name, (app, request) in apps.items():
            if name != "as_is":
                await process(app, request, warmup)
        log(f"  e2e: {as_is_count} updates through the bot as built (AIORateLimiter) ...")
        as_is = await process(*apps["as_is"], updates[:as_is_count])
        bot_runs: list[RunResult] = []
        echo_runs: list[RunResult] = []
        for number in range(rounds):
            log(f"  e2e: round {number + 1}/{rounds}: {len(updates)} updates, bot then echo ...")
            bot_runs.append(await process(*apps["bot"], updates))
            echo_runs.append(await process(*apps["echo"], updates))
    finally:
        for context in reversed(contexts):
            await context.__aexit__(None, None, None)
        for app, _ in apps.values():
            _close_services(app)
    return E2EResult(len(updates), rounds, as_is, bot_runs, echo_runs)


def _close_services(application: AnyApplication) -> None:
    # post_shutdown only runs under run_polling/run_webhook; close what the bot opened
    # (its analytics database) ourselves.
    if isinstance(application.bot_data, BotData):  # the bot, not the bare PTB echo
        application.bot_data.database.close()


def run(quick: bool = False, log: Callable[[str], None] = print) -> E2EResult:
    """Run the end-to-end benchmark; print its table; return the result."""
    result = asyncio.run(_run(quick, log))
    log("")
    log(report(result))
    return result


def report(result: E2EResult) -> str:
    as_is = result.as_is
    lines = [
        [
            "bot as built (AIORateLimiter)",
            f"{as_is.updates:,} x1",
            f"{as_is.per_second:,.0f}",
            fmt_ns(1e9 * as_is.wall_s / as_is.updates),
            fmt_ns(1e9 * as_is.cpu_s / as_is.updates),
            *_kind_medians(as_is),
            _calls(as_is),
            str(as_is.errors),
        ]
    ]
    for label, runs in (
        ("bot, pass-through limiter", result.bot),
        ("bare PTB + echo handler", result.echo),
    ):
        middle = runs[len(runs) // 2]  # any run: call counts are the same in each
        lines.append(
            [
                label,
                f"{result.updates:,} x{len(runs)}",
                f"{median([r.per_second for r in runs]):,.0f}",
                fmt_ns(median([1e9 * r.wall_s / r.updates for r in runs])),
                fmt_ns(median([1e9 * r.cpu_s / r.updates for r in runs])),
                *_kind_medians(middle, runs),
                _calls(middle),
                str(sum(r.errors for r in runs)),
            ]
        )
    body = table(
        [
            "application",
            "updates",
            "updates/s",
            "wall/update",
            "cpu/update",
            "question med/p99",
            "button med/p99",
            "inline med/p99",
            "Bot API calls per run",
            "errors",
        ],
        lines,
    )
    notes = (
        f"Mix: {', '.join(f'{int(100 * s)}% {_PLURAL[k]}' for k, s in MIX)}; questions from the "
        "evaluation sets; updates/s = median over rounds, bot and echo alternating.\n"
        "AIORateLimiter is configured in build_application and measured as-is on the first "
        "line: it queues messages to chats at 30/s (Telegram's limit), so that line is the "
        "limiter's rate.\n"
        f"Bot per-update cost = {fmt_ratio(result.cost_ratio)} the echo bot's (time per update, "
        "medians; the echo bot does nothing for button presses and inline queries)."
    )
    return f"End to end: offline Bot API, process_update one by one\n{body}\n\n{notes}"


def _kind_medians(run: RunResult, runs: Sequence[RunResult] | None = None) -> list[str]:
    cells = []
    for kind, _ in MIX:
        samples = [s for r in (runs or [run]) for s in r.per_kind_ns.get(kind, ())]
        cells.append(f"{fmt_ns(median(samples))}/{fmt_ns(percentile(samples, 99))}")
    return cells


def _calls(run: RunResult) -> str:
    return ", ".join(f"{method} {n:,}" for method, n in sorted(run.calls.items()))


def rows(result: E2EResult) -> list[Row]:
    return [
        Row(
            "e2e: bot updates/s (limiter pass-through)",
            f"{result.bot_per_second:,.0f}/s",
            ">= 1,000/s",
            result.bot_per_second >= THROUGHPUT_TARGET,
        ),
        Row(
            "e2e: bot updates/s as built (AIORateLimiter)",
            f"{result.as_is.per_second:,.0f}/s (held to Telegram's 30 messages/s on purpose)",
            "(info)",
            None,
        ),
        Row(
            "e2e: per-update cost vs bare PTB echo",
            f"{fmt_ratio(result.cost_ratio)} (echo {result.echo_per_second:,.0f}/s)",
            "(info)",
            None,
        ),
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer updates and rounds")
    args = parser.parse_args(argv)
    for row in rows(run(quick=args.quick)):
        print(f"{row.benchmark}: {row.figure} (target {row.target}) {row.verdict}")


if __name__ == "__main__":
    main()
