"""Updates per second through nginx: one worker on SQLite, one and two workers on PostgreSQL.

Real processes and servers: ``python -m bot run`` in webhook mode (``RATE_LIMIT=off``, so
the figure is the bot's own cost, not Telegram's 30 messages a second), ``deploy/nginx.conf``
in front, a throwaway PostgreSQL cluster, and the Bot API emulator, whose updates a pusher
POSTs as Telegram does (several chats at once, each chat's one after another). Each setup
gets a warm-up, then UPDATES questions from USERS users; the figure is updates answered per
second, from the first POST to the last answer. Every process of a setup shares the
machine's cores with the others (nginx, PostgreSQL, the emulator, the pusher), as it would
on one small server.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import Row
from tests.e2e.botapi_emulator import BotApiEmulator
from tests.e2e.running_bot import start_bot
from tests.e2e.test_webhook_e2e import free_port, health_of
from tests.e2e.webhook_pusher import WebhookPusher
from tests.support.nginx import load_balancer, nginx_binary
from tests.support.postgres import PostgresUnavailableError, postgres_server

SECRET = "bench-secret"
QUESTIONS = ("how much is a session", "does it hurt", "what is qi", "how long is a session")
TARGET_SPEEDUP = 1.6


@dataclass(frozen=True)
class Throughput:
    setup: str  # "sqlite, 1 worker", "postgresql, 2 workers"
    workers: int
    updates: int
    per_second: float
    busy: float | None  # share of the machine's CPU time in use meanwhile (all processes)


def cpu_times() -> tuple[int, int] | None:
    """(busy, total) CPU ticks of the whole machine so far (Linux), else None."""
    try:
        with Path("/proc/stat").open(encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_between(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    if before is None or after is None or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def measure(
    workers: int, database_url: str | None, updates: int, users: int, log: Callable[[str], None]
) -> tuple[float, float | None]:
    """Updates per second through nginx to ``workers`` workers, and how busy the machine's
    cores were meanwhile (every process of the setup, and anything else running)."""
    ports = [free_port() for _ in range(workers)]
    balancer = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as directory:
        settings = {
            "ANALYTICS_SALT": "bench-salt",
            "WEBHOOK_URL": "https://faq-bot.example.org/telegram",
            "WEBHOOK_SECRET": SECRET,
            "WORKERS": str(workers),
            "RATE_LIMIT": "off",
            "LOG_LEVEL": "WARNING",
        }
        if database_url:
            settings["DATABASE_URL"] = database_url
        with BotApiEmulator(bot_username="clinic_faq_bot") as emu:
            sqlite = Path(directory) / "bench.sqlite3"
            processes = [start_bot(emu, sqlite, None, PORT=str(port), **settings) for port in ports]
            try:
                for port in ports:
                    _until(functools.partial(_healthy, port), 60)
                url = f"http://127.0.0.1:{balancer}/telegram"
                with load_balancer(ports, balancer), WebhookPusher(emu, url, SECRET, 32):
                    people = [emu.add_user(f"Patient {n}") for n in range(users)]
                    chats = [emu.private_chat(person) for person in people]
                    asked = itertools.cycle(QUESTIONS)

                    def ask(count: int) -> float:
                        before = emu.bot_message_count(chats)
                        started = time.perf_counter()
                        for n in range(count):
                            emu.send_text(people[n % users], chats[n % users], next(asked))
                        _until(lambda: emu.bot_message_count(chats) >= before + count, 300)
                        return time.perf_counter() - started

                    ask(users)  # warm-up: every worker has seen traffic, every user is known
                    before = cpu_times()
                    elapsed = ask(updates)
                    busy = busy_between(before, cpu_times())
                    log(f"  workers: {workers} worker(s): {updates} in {elapsed:.2f} s")
            finally:
                for process in processes:
                    process.terminate()
                for process in processes:
                    process.wait(timeout=60)
    return updates / elapsed, busy


def run(quick: bool, log: Callable[[str], None]) -> list[Throughput]:
    if nginx_binary() is None:
        log("  workers: nginx is not installed: skipped")
        return []
    updates, users = (200, 20) if quick else (2000, 100)
    results = []
    log("  workers: 1 worker on SQLite ...")
    results.append(
        Throughput("SQLite, 1 worker", 1, updates, *measure(1, None, updates, users, log))
    )
    try:
        with postgres_server() as server:
            for workers in (1, 2):
                log(f"  workers: {workers} worker(s) on PostgreSQL ...")
                database = server.new_database()
                url = database.url.render_as_string(hide_password=False)
                rate, busy = measure(workers, url, updates, users, log)
                results.append(
                    Throughput(f"PostgreSQL, {workers} worker(s)", workers, updates, rate, busy)
                )
                server.drop(database)
    except PostgresUnavailableError as exc:
        log(f"  workers: PostgreSQL unavailable ({exc}): its rows skipped")
    return results


def rows(results: Sequence[Throughput]) -> list[Row]:
    summary = [
        Row(
            f"workers: updates/s through nginx, {r.setup}",
            f"{r.per_second:,.0f}/s" + ("" if r.busy is None else f" (cores {r.busy:.0%} busy)"),
            "info",
            None,
        )
        for r in results
    ]
    postgres = {r.workers: r.per_second for r in results if r.setup.startswith("PostgreSQL")}
    if 1 in postgres and 2 in postgres:
        speedup = postgres[2] / postgres[1]
        summary.append(
            Row(
                "workers: 2 workers vs 1 on PostgreSQL",
                f"{speedup:.2f}x",
                f">= {TARGET_SPEEDUP}x",
                speedup >= TARGET_SPEEDUP,
            )
        )
    return summary


def _healthy(port: int) -> bool:
    try:
        return health_of(port)[0] == 200
    except OSError:
        return False


def _until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s")
        time.sleep(0.01)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer updates")
    args = parser.parse_args(argv)
    for row in rows(run(args.quick, lambda text: print(text, file=sys.stderr))):
        print(f"{row.benchmark}: {row.figure} ({row.target}, {row.verdict})")


if __name__ == "__main__":
    main()
