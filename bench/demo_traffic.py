"""A month of demo traffic in an analytics database, to look at /stats and its chart.

``python -m bench.demo_traffic FILE`` asks the shipped bot the questions of
``tests/data/eval_set.yaml`` (a tuning set, so nothing is learnt from a measuring one),
spread over the last 30 days with a weekly rhythm, and records what it answered, as the
running bot would; a few deep-link visits, group questions and handoffs are added. Then
``python -m bot stats --database FILE --chart stats.png`` draws the chart (the README's
picture was made this way). Deterministic: the same file every time, for the same day.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import PROJECT_ROOT
from bot.analytics.records import Source
from bot.analytics.store import EventStore
from bot.content.loader import load_knowledge
from bot.engine import DialogueEngine
from bot.evaluation import load_eval_set
from bot.paths import default_content_dir

DAYS = 30


def fill(path: Path, now: datetime) -> int:
    """Record the demo month into ``path``; return how many events."""
    engine = DialogueEngine(load_knowledge(default_content_dir()))
    questions = [item.text for item in load_eval_set(PROJECT_ROOT / "tests/data/eval_set.yaml")]
    shuffle = random.Random(7)
    moment = now
    recorded = 0
    with EventStore(path, salt="demo", clock=lambda: moment) as store:
        for back in range(DAYS - 1, -1, -1):
            day = now - timedelta(days=back)
            busy = 14 + 6 * (day.weekday() in (0, 1)) + shuffle.randint(-4, 4)  # busy Mondays
            for number in range(busy):
                moment = day.replace(hour=8 + number % 12, minute=shuffle.randint(0, 59))
                question = shuffle.choice(questions)
                reply = engine.respond(question)
                source = shuffle.choices(
                    [Source.PRIVATE, Source.DEEP_LINK, Source.GROUP, Source.INLINE],
                    [70, 15, 10, 5],
                )[0]
                store.record(
                    user_id=shuffle.randint(1, 400),
                    chat_type="group" if source is Source.GROUP else "private",
                    source=source,
                    decision=reply.kind,
                    intent_id=reply.intent_id,
                    score=reply.score,
                    tag="post3" if source is Source.DEEP_LINK else None,
                    text=question,
                )
                if reply.kind.value == "fallback" and shuffle.random() < 0.3:
                    store.save_handoff(
                        staff_chat_id=-100,
                        staff_message_id=recorded,
                        user_chat_id=1,
                        user_id=shuffle.randint(1, 400),
                    )
                recorded += 1
    return recorded


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.demo_traffic", description=__doc__)
    parser.add_argument("file", type=Path, help="the SQLite file to create (must not exist)")
    args = parser.parse_args(argv)
    if args.file.exists():
        print(f"{args.file} exists already: choose a new file", file=sys.stderr)
        return 2
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    print(f"{fill(args.file, today)} events recorded in {args.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
