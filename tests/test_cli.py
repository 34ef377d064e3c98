"""The command line as a new user meets it: chat, validate, match, eval."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.content.html_text import plain_text
from bot.content.knowledge import Knowledge
from tests.conftest import copy_shipped_content
from tests.support.events import record_event

PROJECT = Path(__file__).resolve().parent.parent


def run_bot(
    *args: str, stdin: str = "", cwd: Path = PROJECT, **settings: str
) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` with no Telegram or analytics settings but ``settings``."""
    unset = ("TELEGRAM_BOT_TOKEN", "ANALYTICS_SALT", "WEBHOOK_URL")
    env = {k: v for k, v in os.environ.items() if k not in unset} | settings
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=cwd,
        check=False,
    )


def test_no_token_starts_terminal_chat_and_answers(knowledge: Knowledge) -> None:
    result = run_bot(stdin="does it hurt?\n")
    assert result.returncode == 0, result.stderr
    assert "No TELEGRAM_BOT_TOKEN set: starting the terminal chat" in result.stdout.splitlines()[0]
    answer = plain_text(knowledge.responses["does_it_hurt"].answer)
    assert answer in result.stdout
    after_answer = result.stdout.split(answer, 1)[1]
    follow_ups = knowledge.responses["does_it_hurt"].follow_ups
    for number, intent_id in enumerate(follow_ups, start=1):
        assert f"  {number}. {knowledge.title(intent_id)}" in after_answer


def test_chat_follows_a_numbered_suggestion(knowledge: Knowledge) -> None:
    result = run_bot("chat", stdin="what is qi\n1\n")
    assert result.returncode == 0, result.stderr
    qi_answer = plain_text(knowledge.responses["what_is_qi"].answer)
    first_follow_up = knowledge.responses["what_is_qi"].follow_ups[0]
    followed_answer = plain_text(knowledge.responses[first_follow_up].answer)
    assert qi_answer in result.stdout
    assert followed_answer in result.stdout.split(qi_answer, 1)[1]


def test_validate_shipped_content_passes() -> None:
    result = run_bot("validate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors, 0 warnings" in result.stdout


def test_validate_names_every_problem_and_exits_1(tmp_path: Path) -> None:
    content = copy_shipped_content(tmp_path / "content")
    (content / "intents" / "broken.yaml").write_text("intents:\n  - id: x\n    examples: [a, b\n")
    visit = content / "responses" / "your_visit.yaml"
    visit.write_text(visit.read_text().replace("{clinic.phone}", "{clinic.telephone}", 1))
    result = run_bot("validate", "--content", str(content))
    assert result.returncode == 1
    assert f"{content / 'intents' / 'broken.yaml'}:4: error: invalid YAML" in result.stderr
    assert f"{visit}:" in result.stderr and "{clinic.telephone}" in result.stderr


def test_match_shows_candidates_and_decision() -> None:
    result = run_bot("match", "does acupunture hurt")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("thresholds: answer ")  # the calibrated thresholds in force
    assert "does_it_hurt" in lines[2]  # the best candidate, under the column header
    assert "decision: answer -> does_it_hurt" in result.stdout


def test_eval_json_report(tmp_path: Path) -> None:
    path = tmp_path / "set.yaml"
    path.write_text(
        "- {text: does it hurt, expect: does_it_hurt}\n- {text: bitcoin price, expect: null}\n"
    )
    result = run_bot("eval", str(path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["accuracy"] == 1.0
    assert [item["predicted"] for item in report["items"]] == ["does_it_hurt", None]
    assert set(report) >= {
        "accuracy",
        "in_scope_accuracy",
        "out_of_scope_rejection",
        "per_intent",
        "confusions",
        "items",
    }


def test_installed_package_finds_its_content(tmp_path: Path) -> None:
    """Run from another folder: the default content must not depend on the working directory."""
    result = run_bot("match", "price", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "decision: answer -> pricing" in result.stdout


def test_stats_and_gaps_in_the_terminal(tmp_path: Path) -> None:
    from bot.analytics.store import EventStore
    from bot.engine import ReplyKind

    database = tmp_path / "bot.sqlite3"
    with EventStore(database, salt="s") as store:
        record_event(store, score=90)
        record_event(
            store,
            user_id=2,
            kind=ReplyKind.FALLBACK,
            intent_id=None,
            score=10,
            text="do you sell skincare products?",
        )
    chart = tmp_path / "month.png"
    stats = run_bot("stats", "--database", str(database), "--chart", str(chart))
    assert stats.returncode == 0, stats.stderr
    assert "Questions: 2" in stats.stdout and "<b>" not in stats.stdout
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"written to {chart}" in stats.stdout
    gaps = run_bot("gaps", "--database", str(database))
    assert "do you sell skincare products?" in gaps.stdout
    missing = run_bot("stats", "--database", str(tmp_path / "none.sqlite3"))
    assert missing.returncode == 1 and "No database" in missing.stderr


def test_env_file_is_read_but_never_overrides_the_environment(tmp_path: Path) -> None:
    """``.env`` in the working folder fills in settings; a real variable keeps its value."""
    (tmp_path / ".env").write_text(
        "TELEGRAM_BOT_TOKEN=not-a-token\nWEBHOOK_URL=http://insecure.example.org/hook\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "WEBHOOK_URL")}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(PROJECT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    # The token came from .env (and is malformed: the run stops with a clear message).
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN looks malformed" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(PROJECT), "TELEGRAM_BOT_TOKEN": "123:abc"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    # The real token wins; WEBHOOK_URL still comes from .env, and it is not https.
    assert result.returncode == 2
    assert "WEBHOOK_URL" in result.stderr and "malformed" not in result.stderr


def test_validate_shows_what_changed_since_the_last_clean_run(tmp_path: Path) -> None:
    content = copy_shipped_content(tmp_path / "content")
    first = run_bot("validate", "--content", str(content))
    assert first.returncode == 0 and "changes since" not in first.stdout
    safety = content / "intents" / "safety.yaml"
    safety.write_text("\n".join(safety.read_text().split("\n")[:10]) + "\n")  # cut off
    second = run_bot("validate", "--content", str(content))
    assert second.returncode == 0  # still valid YAML and content: only the counts tell
    assert "changes since the last clean validation:" in second.stdout
    line = next(x for x in second.stdout.splitlines() if "safety patterns:" in x)
    assert "<- check" in line


def test_a_lost_salt_file_stops_the_bot_until_the_new_salt_is_adopted(tmp_path: Path) -> None:
    """Without the salt its users were recorded with, /forget would silently delete nothing
    and sent feedback buttons would stop working: the bot says so and does not start."""
    from bot.analytics.records import SaltMismatchError
    from bot.analytics.store import EventStore
    from bot.telegram.settings import stored_salt

    database = tmp_path / "bot.sqlite3"
    with EventStore(database, stored_salt(database)) as store:  # the first run
        store.verify_salt()
    database.with_name("bot.sqlite3.salt").unlink()  # lost in a move or a restore
    settings = {
        "TELEGRAM_BOT_TOKEN": "123:offline",
        # never reached: the salt is checked before anything talks to Telegram
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot",
        "DATABASE_PATH": str(database),
    }
    refused = run_bot("run", **settings)
    assert refused.returncode == 2, refused.stderr
    assert "analytics salt is not the one" in refused.stderr
    assert "adopt-salt" in refused.stderr and "Traceback" not in refused.stderr
    adopted = run_bot("adopt-salt", **settings)
    assert adopted.returncode == 0, adopted.stderr
    assert "can no longer be recognised" in adopted.stdout
    with EventStore(database, stored_salt(database)) as store:
        store.verify_salt()  # the bot starts with the new salt now
    with EventStore(database, "yet another salt") as store, pytest.raises(SaltMismatchError):
        store.verify_salt()


def test_an_unreachable_database_stops_the_bot_with_status_2() -> None:
    result = run_bot(
        "run",
        TELEGRAM_BOT_TOKEN="123:abc",
        TELEGRAM_API_BASE_URL="http://127.0.0.1:9/bot",  # never reached
        ANALYTICS_SALT="salt",
        DATABASE_URL="postgresql://bot:secret@127.0.0.1:1/clinic",
    )
    assert result.returncode == 2
    assert "Cannot open the database at postgresql://bot:***@127.0.0.1:1/clinic" in result.stderr
    assert "Connection refused" in result.stderr and "secret" not in result.stderr


def test_validate_hints_at_a_frame_only_out_of_scope_examples_use(tmp_path: Path) -> None:
    content = copy_shipped_content(tmp_path / "content")
    pets = ("dog", "cat", "horse", "rabbit", "parrot", "hamster", "pony", "ferret")
    extra = "".join(f"  - your first session for my {pet} please\n" for pet in pets)
    out_of_scope = content / "intents" / "out_of_scope.yaml"
    out_of_scope.write_text(
        out_of_scope.read_text().replace("out_of_scope:\n", "out_of_scope:\n" + extra, 1)
    )
    result = run_bot("validate", "--content", str(content))
    assert result.returncode == 0, result.stdout + result.stderr
    hints = result.stdout.split("hints:", 1)[1].splitlines()
    # Pointed at the first of the new examples (line 5), with how often each side uses it.
    pointed = [line for line in hints if "out_of_scope.yaml:5: " in line]
    assert pointed and all("in 8 out-of-scope examples" in line for line in pointed)
    assert " 0 errors" in result.stdout  # a hint is not a problem
