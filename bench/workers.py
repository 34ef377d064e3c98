"""Updates per second through nginx: one worker on SQLite, one and two workers on PostgreSQL.

Real processes and servers: ``python -m bot run`` in webhook mode (``RATE_LIMIT=off``, so
the figure is the bot's own cost, not Telegram's 30 messages a second), ``deploy/nginx.conf``
in front, a throwaway PostgreSQL cluster. Telegram's side is played by programs that cost
little, so that the cores go to the workers: ``wrk`` (Debian's HTTP load generator, in C)
pushes updates to the webhook as Telegram does (32 connections, each sending its next update
once the last one was answered; the bot answers once the update is handled), every update a
new private message (``bench/data/telegram_updates.lua``); and a second nginx answers the
Bot API calls the workers make (``getMe``, ``setWebhook``, ``sendMessage``...) with fixed
replies. The Bot API emulator of the tests, written in Python, took as much of the two cores
as a worker, and a second worker had no core left to gain (its figures are in the README).
Each setup gets a warm-up, then SECONDS of load; the figure is updates answered per second,
and how busy the machine's cores were meanwhile.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import PROJECT_ROOT, Row, median
from tests.e2e.running_bot import start_bot
from tests.e2e.test_webhook_e2e import free_port, health_of
from tests.support.nginx import load_balancer, nginx_binary, nginx_server
from tests.support.postgres import PostgresServer, PostgresUnavailableError, postgres_server

SECRET = "bench-secret"
TOKEN = "123456:bench-token"
TARGET_SPEEDUP = 1.6
CONNECTIONS = 32
ROUNDS = 3  # full runs: each setup this many times, taking turns; medians
UPDATES_SCRIPT = PROJECT_ROOT / "bench" / "data" / "telegram_updates.lua"

# The Bot API as far as a worker needs it for this load: who the bot is, and a message for
# every message sent; any other call succeeds.
_BOT_API_STUB = """worker_processes 1;
pid nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path temp/body;
    proxy_temp_path temp/proxy;
    fastcgi_temp_path temp/fastcgi;
    uwsgi_temp_path temp/uwsgi;
    scgi_temp_path temp/scgi;
    server {{
        listen 127.0.0.1:{port};
        default_type application/json;
        client_max_body_size 1m;
        location ~ /getMe$ {{ return 200 '{get_me}'; }}
        location ~ /sendMessage$ {{ return 200 '{sent}'; }}
        location / {{
            return 200 '{{"ok":true,"result":true}}';
        }}
    }}
}}
"""


_GET_ME = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Clinic FAQ",
    "username": "clinic_faq_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": True,
}
_SENT = {
    "message_id": 1,
    "date": 1764770000,
    "chat": {"id": 1, "type": "private", "first_name": "Patient"},
    "text": "answer",
}


def stub_configuration(port: int) -> str:
    """nginx's configuration of the stub Bot API on ``port``."""
    return _BOT_API_STUB.format(
        port=port,
        get_me=json.dumps({"ok": True, "result": _GET_ME}),
        sent=json.dumps({"ok": True, "result": _SENT}),
    )


@dataclass(frozen=True)
class BotApiStub:
    """Where the workers find the stub Bot API."""

    token: str
    base_url: str


@dataclass(frozen=True)
class Load:
    """What wrk measured."""

    per_second: float
    failed: int  # answers other than 2xx, and socket errors


@dataclass(frozen=True)
class Throughput:
    setup: str  # "sqlite, 1 worker", "postgresql, 2 workers"
    workers: int
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
    workers: int, database_url: str | None, seconds: int, log: Callable[[str], None]
) -> tuple[float, float | None]:
    """Updates per second through nginx to ``workers`` workers, and how busy the machine's
    cores were meanwhile (every process of the setup, and anything else running)."""
    ports = [free_port() for _ in range(workers)]
    balancer, api = free_port(), free_port()
    with (
        tempfile.TemporaryDirectory(prefix="bench-workers-") as directory,
        nginx_server(stub_configuration(api), api),
    ):
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
        stub = BotApiStub(TOKEN, f"http://127.0.0.1:{api}/bot")
        sqlite = Path(directory) / "bench.sqlite3"
        processes = [start_bot(stub, sqlite, None, PORT=str(port), **settings) for port in ports]
        try:
            for port in ports:
                _until(functools.partial(_healthy, port), 60)
            url = f"http://127.0.0.1:{balancer}/telegram"
            with load_balancer(ports, balancer):
                _push(url, 2, 1)  # warm-up: every worker has seen traffic
                before = cpu_times()
                load = _push(url, seconds, 10_000_000)
                busy = busy_between(before, cpu_times())
            if load.failed:
                raise RuntimeError(f"{load.failed} updates were not answered 200")
            log(f"  workers: {workers} worker(s): {load.per_second:,.0f} updates/s")
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.communicate(timeout=60)
    return load.per_second, busy


def _push(url: str, seconds: int, first_update: int) -> Load:
    """wrk's updates for ``seconds``, update ids from ``first_update`` on."""
    command = [
        "wrk",
        "--threads",
        "1",
        "--connections",
        str(CONNECTIONS),
        "--duration",
        f"{seconds}s",
        "--timeout",
        "10s",
        "--script",
        str(UPDATES_SCRIPT),
        url,
        "--",
        str(first_update),
        SECRET,
    ]
    report = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", report)
    if rate is None:
        raise RuntimeError(f"wrk printed no rate: {report}")
    failed = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", report))
    sockets = r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
    errors = re.search(sockets, report)
    failed += sum(map(int, errors.groups())) if errors else 0
    return Load(float(rate.group(1)), failed)


def run(quick: bool, log: Callable[[str], None]) -> list[Throughput]:
    """Each setup measured ROUNDS times, the setups taking turns (so a busy moment of the
    shared machine hits them alike); each figure is the median of its rounds."""
    if nginx_binary() is None or shutil.which("wrk") is None:
        log("  workers: nginx or wrk is not installed: skipped")
        return []
    seconds, rounds = (3, 1) if quick else (15, ROUNDS)
    figures: dict[tuple[str, int], list[tuple[float, float | None]]] = {}
    try:
        with postgres_server() as server:
            for round_number in range(1, rounds + 1):
                for name, workers in (("SQLite", 1), ("PostgreSQL", 1), ("PostgreSQL", 2)):
                    log(f"  workers: round {round_number}, {workers} worker(s) on {name} ...")
                    figures.setdefault((name, workers), []).append(
                        _measure_on(server if name == "PostgreSQL" else None, workers, seconds, log)
                    )
    except PostgresUnavailableError as exc:
        log(f"  workers: PostgreSQL unavailable ({exc}): its rows skipped")
        figures = {("SQLite", 1): [measure(1, None, seconds, log) for _ in range(rounds)]}
    results = []
    for (name, workers), measured in figures.items():
        rate = median([r for r, _ in measured])
        busy = [b for _, b in measured if b is not None]
        results.append(
            Throughput(
                f"{name}, {workers} worker{'s' if workers > 1 else ''}",
                workers,
                rate,
                median(busy) if busy else None,
            )
        )
    return results


def _measure_on(
    server: PostgresServer | None, workers: int, seconds: int, log: Callable[[str], None]
) -> tuple[float, float | None]:
    """``measure`` on SQLite (no server) or on a new database of ``server``."""
    if server is None:
        return measure(workers, None, seconds, log)
    database = server.new_database()
    try:
        return measure(workers, database.url.render_as_string(hide_password=False), seconds, log)
    finally:
        server.drop(database)


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
