"""Command line: ``python -m bot [chat|validate|match|eval|run] [--content DIR]``."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot import log_setup
from bot.content.balance import phrases_taught_as_out_of_scope
from bot.content.changes import compare, content_counts
from bot.content.knowledge import Knowledge
from bot.content.loader import check_content
from bot.content.problems import Problem, Severity
from bot.engine import DialogueEngine, FallbackReason
from bot.evaluation import (
    cross_validate_content,
    evaluate,
    load_eval_set,
    report_json,
    report_text,
)
from bot.nlu.classifier import default_cache_dir
from bot.nlu.language import STOPWORDS
from bot.nlu.units import question_units
from bot.paths import default_content_dir

if TYPE_CHECKING:
    from bot.analytics.database_url import Database

TOKEN_VARIABLE = "TELEGRAM_BOT_TOKEN"
ENV_FILE = ".env"


def _parser() -> argparse.ArgumentParser:
    content = argparse.ArgumentParser(add_help=False)
    content.add_argument(
        "--content",
        type=Path,
        default=argparse.SUPPRESS,
        help="folder holding intents/, responses/ and clinic.yaml (default: the shipped content)",
    )
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Clinic FAQ assistant. Without a command: the Telegram bot when "
        f"{TOKEN_VARIABLE} is set, otherwise a chat in the terminal.",
        parents=[content],
    )
    commands = parser.add_subparsers(dest="command", metavar="command")
    commands.add_parser(
        "run", parents=[content], help=f"run the Telegram bot (needs {TOKEN_VARIABLE})"
    )
    commands.add_parser("chat", parents=[content], help="chat with the bot in the terminal")
    commands.add_parser("validate", parents=[content], help="check the content; exit 1 on errors")
    match = commands.add_parser("match", parents=[content], help="show how a question is matched")
    match.add_argument("text", help="the question")
    evaluation = commands.add_parser(
        "eval", parents=[content], help="accuracy report on a labelled set"
    )
    evaluation.add_argument("file", type=Path, nargs="?", help="YAML list of {text, expect} items")
    evaluation.add_argument(
        "--cv",
        type=int,
        metavar="K",
        help="K-fold cross-validation over the content's own examples instead of a file",
    )
    evaluation.add_argument("--json", action="store_true", help="print the report as JSON")
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument(
        "--database",
        metavar="FILE_OR_URL",
        help="a SQLite file or a database URL (sqlite:///... or postgresql://...; default: "
        "$DATABASE_URL, else $DATABASE_PATH, else data/bot.sqlite3)",
    )
    stats = commands.add_parser(
        "stats", parents=[content, database], help="questions and answer rates, 7 and 30 days"
    )
    stats.add_argument(
        "--chart", type=Path, metavar="FILE.png", help="also draw the month's chart into FILE.png"
    )
    gaps = commands.add_parser(
        "gaps", parents=[content, database], help="unanswered questions, grouped"
    )
    gaps.add_argument(
        "--review",
        action="store_true",
        help="go through the groups and teach each (numbered choices, as /gaps on Telegram)",
    )
    learned = commands.add_parser(
        "learned",
        parents=[content, database],
        help="what admins taught from /gaps: list it, or export it into the content files",
    )
    learned.add_argument("action", choices=("list", "export"))
    learned.add_argument(
        "--allow-uncommitted",
        action="store_true",
        help="export even into content files with edits not committed to git",
    )
    commands.add_parser(
        "adopt-salt",
        parents=[database],
        help="go on with the current analytics salt after the old one was lost",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; return the process exit status."""
    args = _parser().parse_args(argv)
    load_env_file(Path.cwd() / ENV_FILE)
    content_dir: Path = getattr(args, "content", None) or default_content_dir()
    command = args.command
    if command == "validate":
        return _validate(content_dir)
    if command == "adopt-salt":
        return _adopt_salt(args.database)
    knowledge = _load(content_dir)
    if knowledge is None:
        return 1
    if command == "eval" and args.cv is not None:
        return _eval_cv(knowledge, args.cv, args.json)
    # The database tools train their own engine (with the taught phrasings) or none.
    if command == "learned":
        return _learned(knowledge, content_dir, args, args.database)
    if command == "gaps" and args.review:
        return _review_gaps(knowledge, args.database)
    if command in ("stats", "gaps"):
        return _report(knowledge, command, args.database, getattr(args, "chart", None))
    engine = DialogueEngine(knowledge)
    if command == "match":
        return _match(engine, args.text)
    if command == "eval":
        if args.file is None:
            print("eval needs a FILE or --cv K", file=sys.stderr)
            return 2
        return _eval(engine, args.file, args.json)
    if command == "run" or (command is None and os.environ.get(TOKEN_VARIABLE)):
        return _run_telegram(knowledge, content_dir)
    if command is None:
        print(
            f"No {TOKEN_VARIABLE} set: starting the terminal chat "
            "(same engine as the Telegram bot)."
        )
    from bot.console import run_console

    run_console(engine)
    return 0


def load_env_file(path: Path) -> None:
    """Settings from a ``.env`` file (as ``.env.example`` suggests), read once at start;
    variables already set in the real environment win."""
    if path.is_file():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


def _run_telegram(knowledge: Knowledge, content_dir: Path) -> int:
    # Imported here so the terminal tools start fast and work without Telegram settings.
    from sqlalchemy.exc import SQLAlchemyError
    from telegram.error import InvalidToken, NetworkError

    from bot.analytics.records import SaltMismatchError, SchemaVersionError
    from bot.telegram.application import run
    from bot.telegram.settings import BotSettings, SettingsError
    from bot.telegram.token_watch import TokenRejectedError

    try:
        settings = BotSettings.from_env(os.environ)
        level = log_setup.parse_level(os.environ.get("LOG_LEVEL", ""))
    except (SettingsError, log_setup.LogLevelError) as exc:
        print(f"Cannot start the Telegram bot: {exc}", file=sys.stderr)
        return 2
    log_setup.configure(level, secrets=(settings.token, settings.webhook_secret or ""))
    try:
        run(settings, knowledge, content_dir)
    except (InvalidToken, TokenRejectedError):
        print(
            "Telegram rejected the bot token (401): check TELEGRAM_BOT_TOKEN, or get a new "
            "one from @BotFather if it was revoked.",
            file=sys.stderr,
        )
        return 2
    except (OSError, SQLAlchemyError, SchemaVersionError, SaltMismatchError) as exc:
        print(f"Cannot open the database at {settings.database}: {_reason(exc)}", file=sys.stderr)
        return 2
    except NetworkError as exc:
        print(f"Cannot reach Telegram: {exc}", file=sys.stderr)
        return 3
    return 0


def _database(argument: str | None) -> Database | None:
    """--database (a file or a URL), else $DATABASE_URL, else $DATABASE_PATH, else the
    default file; None (and a message) if it is malformed or no SQLite file is there yet."""
    from bot.analytics.database_url import Database, DatabaseUrlError
    from bot.telegram.settings import SettingsError, database_from_env

    try:
        if argument is None:
            database = database_from_env(os.environ)
        elif "://" in argument:
            database = Database.parse(argument)
        else:
            database = Database.sqlite(Path(argument))
    except (DatabaseUrlError, SettingsError) as exc:
        print(exc, file=sys.stderr)
        return None
    if database.path is not None and not database.path.is_file():
        print(
            f"No database at {database.path} yet: it is created when the bot first runs.",
            file=sys.stderr,
        )
        return None
    return database


def _reason(exc: BaseException) -> str:
    """An error in one line; a driver's error without SQLAlchemy's advice link."""
    original = getattr(exc, "orig", None)
    return " ".join(str(original or exc).split())


def _adopt_salt(argument: str | None) -> int:
    """Record the salt the bot would use now (ANALYTICS_SALT, else the salt file) as the
    database's, after the old one was lost."""
    from bot.analytics.store import EventStore
    from bot.telegram.settings import SettingsError, stored_salt

    database = _database(argument)
    if database is None:
        return 1
    try:
        salt = os.environ.get("ANALYTICS_SALT", "").strip()
        if not salt and database.path is None:
            raise SettingsError("ANALYTICS_SALT must be set with a PostgreSQL database")
        salt = salt or stored_salt(database.path or Path())
    except SettingsError as exc:
        print(f"Cannot adopt the salt: {exc}", file=sys.stderr)
        return 2
    with EventStore(database, salt) as store:
        store.adopt_salt()
    print(
        f"{database} now goes with the current analytics salt. Users recorded before can no longer "
        "be recognised: /forget finds nothing of theirs and their old feedback buttons are "
        "out of date."
    )
    return 0


def _learned(
    knowledge: Knowledge, content_dir: Path, args: argparse.Namespace, database: str | None
) -> int:
    """List the taught phrasings, or write them into the content files and let them go from
    the database (the files stay the source of truth)."""
    from bot.analytics.learning import ExportError, export_lessons
    from bot.analytics.store import EventStore

    opened = _database(database)
    if opened is None:
        return 1
    with EventStore(opened, salt="read-only-report") as store:
        lessons = store.learned()
        if args.action == "list":
            for lesson in lessons:
                when = f"{lesson.added_at:%Y-%m-%d}"
                print(f"{lesson.id:>5}  {when}  {lesson.intent_id:<24} {lesson.text}")
            print(f"{len(lessons)} taught phrasing(s)")
            return 0
        try:
            exported = export_lessons(knowledge, lessons, content_dir, args.allow_uncommitted)
        except ExportError as exc:
            print(f"Nothing exported: {exc}", file=sys.stderr)
            return 2
        for learned_id in exported:
            store.forget_learned(learned_id)
    print(
        f"{len(exported)} phrasing(s) written into {content_dir} and removed from the database; "
        "run 'python -m bot validate', then /reload"
    )
    return 0


def _review_gaps(knowledge: Knowledge, database: str | None) -> int:
    """The /gaps review in the terminal: each group in turn, a numbered choice for each."""
    from bot.analytics.learning import with_lessons
    from bot.analytics.reports import find_gaps
    from bot.analytics.store import EventStore
    from bot.gaps_review import review_gaps

    opened = _database(database)
    if opened is None:
        return 1
    piped = not sys.stdin.isatty()

    def ask(prompt: str) -> str | None:
        try:
            answer = input(prompt)
        except EOFError:
            print()
            return None
        if piped:
            print(answer)  # what was typed, so a piped session reads as one
        return answer

    # Teaching hashes no user id (the terminal is "terminal"), so any salt does.
    with EventStore(opened, salt="terminal-review") as store:
        engine = DialogueEngine(with_lessons(knowledge, store.learned()))
        gaps = find_gaps(store.unanswered(30), engine)
        if not gaps:
            print("No unanswered questions in the last 30 days: nothing to review.")
            return 0
        print(f"{len(gaps)} group(s) of unanswered questions, most asked first.")
        summary = review_gaps(engine, store, gaps, ask, print)
    print(
        f"\nDone: {summary.taught} phrasing(s) taught, {summary.refused} refused, "
        f"{summary.put_aside} group(s) put on the to-do list, {summary.skipped} skipped."
    )
    if summary.taught:
        print("The running bot learns them at its next start or /reload.")
    return 0


def _report(
    knowledge: Knowledge, command: str, database: str | None, chart: Path | None = None
) -> int:
    from bot.analytics.chart import chart_title, month_series, stats_chart_png
    from bot.analytics.learning import with_lessons
    from bot.analytics.reports import as_plain_text, find_gaps, gaps_report, stats_report
    from bot.analytics.store import EventStore

    opened = _database(database)
    if opened is None:
        return 1
    titles = {intent_id: r.title for intent_id, r in knowledge.responses.items()}
    # Reports only read; the salt matters for hashing new user ids, which never happens here.
    series = None
    with EventStore(opened, salt="read-only-report") as store:
        if command == "stats":
            report = stats_report(store.stats(7), store.stats(30), titles)
            series = month_series(store, knowledge) if chart else None
        else:  # what admins taught is answered by now: no gap
            taught = DialogueEngine(with_lessons(knowledge, store.learned()))
            report = gaps_report(find_gaps(store.unanswered(30), taught), titles)
    print(as_plain_text(report))
    if chart and series is not None:
        try:
            chart.write_bytes(stats_chart_png(series, chart_title(knowledge)))
        except OSError as exc:
            print(f"Cannot write the chart to {chart}: {exc}", file=sys.stderr)
            return 1
        print(f"Chart written to {chart}")
    return 0


def _load(content_dir: Path) -> Knowledge | None:
    knowledge, problems = check_content(content_dir)
    if knowledge is None:
        _print_problems(problems)
        print(
            f"Content in {content_dir} has errors; run 'python -m bot validate' after fixing them.",
            file=sys.stderr,
        )
    return knowledge


def _print_problems(problems: Sequence[Problem]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)


def content_warnings(engine: DialogueEngine) -> list[Problem]:
    """Examples that the matcher sends to another intent (or rejects as out of scope)."""
    warnings = []
    for intent in engine.knowledge.intents.values():
        for example in intent.examples:
            reply = engine.respond(example.text)
            predicted = reply.answered_intent
            if predicted == intent.id:
                continue
            if predicted is None:
                best = next((c for c in reply.candidates if c.intent_id != intent.id), None)
                outcome = f"is not answered ({reply.kind.value}"
                outcome += f"; closest other: {best.intent_id} {best.score:.0f})" if best else ")"
            else:
                outcome = f"is answered as {predicted!r}"
            warnings.append(
                Problem(
                    f"example {example.text!r} {outcome}",
                    example.source.file,
                    example.source.line,
                    intent.id,
                    Severity.WARNING,
                )
            )
    return warnings


def _validate(content_dir: Path) -> int:
    knowledge, problems = check_content(content_dir)
    if knowledge is not None:
        problems = [*problems, *content_warnings(DialogueEngine(knowledge))]
    _print_problems(problems)
    errors = sum(p.severity is Severity.ERROR for p in problems)
    warnings = len(problems) - errors
    if knowledge is not None and not errors:
        _report_changes(content_dir, knowledge)
    if knowledge is not None:
        _print_taught_phrases(knowledge)
        print(
            f"{content_dir}: {len(knowledge.intents)} intents, "
            f"{sum(len(i.examples) for i in knowledge.intents.values())} examples, "
            f"{errors} errors, {warnings} warnings"
        )
    else:
        print(f"{content_dir}: {errors} errors, {warnings} warnings", file=sys.stderr)
    return 1 if errors else 0


def _print_taught_phrases(knowledge: Knowledge) -> None:
    """Hints, not problems: frames the out-of-scope examples may teach as "not ours"."""
    taught = phrases_taught_as_out_of_scope(knowledge, STOPWORDS)
    if not taught:
        return
    print(
        "hints: phrases that out-of-scope examples use and topic examples hardly do, though "
        "their words are the topics' own; the matcher may turn away a topic question that "
        "uses one. Give a topic a few examples with it, unless it really marks what the "
        "clinic does not do:"
    )
    for item in taught:
        where = item.first.source
        print(
            f"  {where.file}:{where.line}: {item.phrase!r} in {item.out_of_scope_uses} "
            f"out-of-scope examples, {item.topic_uses} topic examples"
        )


def _report_changes(content_dir: Path, knowledge: Knowledge) -> None:
    """What changed since this folder last validated cleanly; a suspect loss is pointed out.

    The counts are kept beside the model cache, one small file per content folder.
    """
    counts = content_counts(knowledge)
    cache = default_cache_dir()
    if cache is None:
        return
    key = hashlib.sha256(str(content_dir.resolve()).encode()).hexdigest()[:16]
    record = cache / "validated" / f"{key}.json"
    try:
        previous = json.loads(record.read_text(encoding="utf-8")) if record.is_file() else None
    except (OSError, ValueError):
        previous = None
    if isinstance(previous, dict):
        changes = compare({k: int(v) for k, v in previous.items()}, counts)
        if changes:
            print("changes since the last clean validation:")
        for change in changes:
            flag = "  <- check: lost more than expected (a file cut off?)" if change.suspect else ""
            print(f"  {change}{flag}")
    try:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(counts), encoding="utf-8")
    except OSError:
        pass  # the comparison is a convenience; validation itself has finished


def _match(engine: DialogueEngine, text: str) -> int:
    reply = engine.respond(text)
    thresholds = engine.thresholds
    calibration = engine.classifier.calibration
    print(
        f"thresholds: answer {thresholds.answer:.1f}, clarify {thresholds.clarify:.1f} "
        f"(calibrated {thresholds.calibrated_answer:.1f} / {thresholds.calibrated_clarify:.1f} "
        f"on {calibration.held_out} held-out examples)"
    )
    print(f"{'confidence':>10}  {'class':<24} {'svm score':>9} {'lead':>6} {'unknown':>7}")
    for candidate in reply.candidates:
        signals = candidate.signals
        detail = f"{signals.top:9.3f} {signals.lead:6.3f} {signals.unknown:7.0%}" if signals else ""
        print(f"{candidate.score:10.1f}  {candidate.intent_id:<24} {detail}")
    if not reply.candidates:
        print("  (no candidates)")
    units, _ = question_units(text)
    if len(units) > 1:
        print("questions in the message:")
        for unit in units:
            best = engine.rank(unit, 1)[0]
            print(f"  {best.score:5.1f} {best.intent_id:<24} {unit!r}")
    answered = [reply.answered_intent, *reply.also] if reply.answered_intent else []
    target = f" -> {' + '.join(a for a in answered if a)}" if answered else ""
    reason = ""
    if reply.reason is not None and reply.reason is not FallbackReason.UNKNOWN:
        reason = f" ({reply.reason.value}" + (f", {reply.language})" if reply.language else ")")
    suggestions = ", ".join(s.intent_id for s in reply.suggestions)
    print(
        f"decision: {reply.kind.value}{target}{reason}"
        + (f" (suggests {suggestions})" if suggestions else "")
    )
    return 0


def _eval(engine: DialogueEngine, path: Path, as_json: bool) -> int:
    try:
        items = load_eval_set(path)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    results = evaluate(engine, items)
    print(json.dumps(report_json(results), indent=2) if as_json else report_text(results))
    return 0


def _eval_cv(knowledge: Knowledge, folds: int, as_json: bool) -> int:
    if folds < 2:
        print("--cv needs at least 2 folds", file=sys.stderr)
        return 2
    results = cross_validate_content(knowledge, folds)
    print(json.dumps(report_json(results), indent=2) if as_json else report_text(results))
    return 0
