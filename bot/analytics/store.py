"""The analytics database: one row per question, feedback, staff handoffs and channel posts.

SQLite in WAL mode with ``synchronous=NORMAL``: every ``record`` is its own committed
transaction, so an event whose id was returned survives the process being killed. The
schema is versioned with ``PRAGMA user_version``; ``schema.MIGRATIONS`` holds the steps,
each applied in one transaction, so a database from any older version is brought up to date
when opened and a half-applied step never exists.

Privacy: user ids are stored only as a salted HMAC; question text is stored only for questions
the bot could not answer, after ``redact``, and is deleted after ``retention_days``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from bot.analytics.records import (
    DayOutcomes,
    Learned,
    Post,
    SaltMismatchError,
    SchemaVersionError,
    Source,
    Stats,
    Vote,
)
from bot.analytics.redaction import redact
from bot.analytics.schema import MIGRATIONS, SCHEMA_VERSION
from bot.engine import ReplyKind

MEMORY = ":memory:"
TOP_INTENTS = 5
TERMINAL_TEACHER = "terminal"  # who taught a phrasing in `python -m bot gaps --review`
# How long one statement waits for another process's write lock before SQLite gives up.
DEFAULT_BUSY_TIMEOUT = 10.0
# Event ids are drawn at random when the caller needs the id before the row is written
# (``new_event_id``): 59 bits, at most 18 digits in a feedback button's callback data, and a
# clash as likely as guessing a 59-bit secret.
_EVENT_ID_BITS = 59
_HASH_LENGTH = 32


# Handled update ids are remembered this long: Telegram redelivers within minutes.
INBOX_KEEP = timedelta(days=2)


def utc_now() -> datetime:
    """The current time in UTC (the store's default clock)."""
    return datetime.now(UTC)


class EventStore:
    """The analytics database; safe to share between threads (calls are serialised)."""

    def __init__(
        self,
        path: Path,
        salt: str,
        retention_days: int = 90,
        clock: Callable[[], datetime] = utc_now,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> None:
        """``busy_timeout``: seconds a statement waits for another process's write lock once
        the database is open (the bot keeps it short and tries again in its database thread:
        ``bot.analytics.background``); opening and migrating wait DEFAULT_BUSY_TIMEOUT."""
        if not salt:
            raise ValueError("the analytics salt must not be empty")
        if retention_days < 1:
            raise ValueError("retention_days must be at least 1")
        self.path = path
        self.retention_days = retention_days
        self._salt = salt.encode()
        self._clock = clock
        self._lock = threading.RLock()
        if str(path) != MEMORY:
            _create_private(path)
        # isolation_level=None: no implicit transactions; each write below commits at once
        # or runs inside an explicit BEGIN IMMEDIATE ... COMMIT.
        self._db = sqlite3.connect(
            path, timeout=DEFAULT_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL keeps every committed event through a killed process
            # (tests/test_database_durability.py); only a power cut may lose the last few.
            # FULL would fsync on every event, which caps a busy bot at disk speed.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            # /forget and the retention purge promise deletion: overwrite, do not just unlink
            # pages (the default depends on how SQLite was built).
            self._db.execute("PRAGMA secure_delete=ON")
            self._migrate()
            # The bot also purges on a schedule; this keeps the retention promise even if
            # it was stopped for longer than the retention period.
            self.purge_expired()
            self._db.execute(f"PRAGMA busy_timeout = {round(busy_timeout * 1000):d}")
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def in_memory(cls, salt: str = "test", clock: Callable[[], datetime] = utc_now) -> Self:
        """A throwaway store for tests."""
        return cls(Path(MEMORY), salt, clock=clock)

    def close(self) -> None:
        """Close the database (committed data is already on disk)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        """The schema version of the open database."""
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def verify_salt(self) -> None:
        """Check that this store's salt is the one the database's user hashes were made
        with (recording it on first use); SaltMismatchError if not.

        With another salt, every user would look new: ``/forget`` would delete nothing and
        feedback buttons already sent would stop working, without a word.
        """
        check = self._salt_check()
        with self._transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'salt_check'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta (key, value) VALUES ('salt_check', ?)", (check,))
                return
        if not hmac.compare_digest(str(row[0]), check):
            raise SaltMismatchError(
                f"{self.path}: the analytics salt is not the one this database's users were "
                "recorded with (was the .salt file beside it lost, or ANALYTICS_SALT "
                "changed?). Restore the old salt; or, to go on with this one, run "
                "'python -m bot adopt-salt' (earlier users can then no longer be recognised: "
                "/forget finds nothing of theirs and their old feedback buttons stop working)"
            )

    def adopt_salt(self) -> None:
        """Record this store's salt as the database's, replacing any other (see verify_salt)."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('salt_check', ?)",
                (self._salt_check(),),
            )

    def _salt_check(self) -> str:
        # A keyed hash of a fixed text: tells salts apart, reveals nothing about the salt.
        return hmac.new(self._salt, b"analytics salt check", hashlib.sha256).hexdigest()

    def user_hash(self, user_id: int) -> str:
        """Salted HMAC-SHA256 of a Telegram user id: stable per user, not reversible."""
        digest = hmac.new(self._salt, str(user_id).encode(), hashlib.sha256).hexdigest()
        return digest[:_HASH_LENGTH]

    # -- events ----------------------------------------------------------------------------

    def record(
        self,
        *,
        user_id: int | None,
        chat_type: str,
        source: Source,
        decision: ReplyKind,
        intent_id: str | None,
        score: float,
        tag: str | None = None,
        text: str | None = None,
        event_id: int | None = None,
    ) -> int:
        """Store one event and commit it; return its id (``event_id`` when given, from
        ``new_event_id``; the database numbers it otherwise).

        ``text`` is kept only for unanswered questions (FALLBACK), redacted; otherwise dropped.
        """
        source, decision = Source(source), ReplyKind(decision)  # a typo fails here, loudly
        stored_text = None
        if text and decision is ReplyKind.FALLBACK:
            stored_text = redact(text).strip() or None
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO events (id, time, user_hash, chat_type, source, tag, intent, score,"
                " decision, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event_id,
                    self._timestamp(self._now()),
                    None if user_id is None else self.user_hash(user_id),
                    chat_type,
                    source.value,
                    tag,
                    intent_id,
                    round(float(score), 1),
                    decision.value,
                    stored_text,
                ),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    @staticmethod
    def new_event_id() -> int:
        """An id for an event that is written later: the reply (its feedback buttons carry
        the id) need not wait for the database."""
        return secrets.randbits(_EVENT_ID_BITS) + 1

    def set_feedback(self, event_id: int, user_id: int, helpful: bool) -> Vote:
        """Store the first Yes/No vote on an event of that user; a second press (a double tap
        before the buttons go) neither overwrites it nor counts twice."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT feedback FROM events WHERE id = ? AND user_hash = ?",
                (event_id, self.user_hash(user_id)),
            ).fetchone()
            if row is None:
                return Vote.UNKNOWN
            if row[0] is not None:
                return Vote.ALREADY
            db.execute(
                "UPDATE events SET feedback = ? WHERE id = ? AND feedback IS NULL",
                (int(helpful), event_id),
            )
        return Vote.SAVED

    def forget_user(self, user_id: int) -> int:
        """Delete every event, handoff and the conversation state of a user; return the
        number of rows deleted."""
        user = self.user_hash(user_id)
        with self._transaction() as db:
            events = db.execute("DELETE FROM events WHERE user_hash = ?", (user,)).rowcount
            handoffs = db.execute("DELETE FROM handoffs WHERE user_hash = ?", (user,)).rowcount
            state = db.execute("DELETE FROM user_state WHERE user_id = ?", (user_id,)).rowcount
        return events + handoffs + state

    # -- conversation state ----------------------------------------------------------------

    def user_states(self) -> dict[int, bytes]:
        """Every user's saved conversation state (as ``save_user_state`` got it)."""
        with self._lock:
            rows = self._db.execute("SELECT user_id, data FROM user_state").fetchall()
        return {int(user_id): bytes(data) for user_id, data in rows}

    def save_user_state(self, user_id: int, data: bytes | None) -> None:
        """Keep a user's conversation state (serialised by the caller); None deletes it."""
        with self._lock:
            if data is None:
                self._db.execute("DELETE FROM user_state WHERE user_id = ?", (user_id,))
            else:
                self._db.execute(
                    "INSERT OR REPLACE INTO user_state (user_id, data, updated) VALUES (?, ?, ?)",
                    (user_id, data, self._timestamp(self._now())),
                )

    def purge_expired(self) -> int:
        """Delete question texts and handoffs older than the retention period; return rows."""
        cutoff = self._timestamp(self._now() - timedelta(days=self.retention_days))
        with self._transaction() as db:
            texts = db.execute(
                "UPDATE events SET text = NULL WHERE text IS NOT NULL AND time < ?", (cutoff,)
            ).rowcount
            handoffs = db.execute("DELETE FROM handoffs WHERE created_at < ?", (cutoff,)).rowcount
            inbox_cutoff = self._timestamp(self._now() - INBOX_KEEP)
            db.execute("DELETE FROM inbox WHERE done = 1 AND received < ?", (inbox_cutoff,))
        return texts + handoffs

    # -- update inbox ----------------------------------------------------------------------

    def inbox_receive(self, updates: list[tuple[int, str]]) -> None:
        """Keep fetched updates (id, JSON) until they are handled; a known id is left alone."""
        if not updates:
            return
        received = self._timestamp(self._now())
        with self._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO inbox (update_id, body, received) VALUES (?, ?, ?)",
                [(update_id, body, received) for update_id, body in updates],
            )

    def inbox_handled(self, update_id: int) -> bool:
        """Whether this update was handled already (a replay or a redelivery)."""
        with self._lock:
            row = self._db.execute(
                "SELECT done FROM inbox WHERE update_id = ?", (update_id,)
            ).fetchone()
        return bool(row and row[0])

    def inbox_done(self, update_id: int) -> None:
        """Mark an update handled; its content (the patient's words) is dropped at once."""
        received = self._timestamp(self._now())
        with self._transaction() as db:
            db.execute(
                "INSERT INTO inbox (update_id, body, received, done) VALUES (?, NULL, ?, 1) "
                "ON CONFLICT (update_id) DO UPDATE SET done = 1, body = NULL",
                (update_id, received),
            )

    def inbox_pending(self) -> list[str]:
        """Updates fetched but never handled (the process died), oldest first, as JSON."""
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM inbox WHERE done = 0 AND body IS NOT NULL ORDER BY update_id"
            ).fetchall()
        return [str(row[0]) for row in rows]

    # -- staff handoff ---------------------------------------------------------------------

    def save_handoff(
        self, *, staff_chat_id: int, staff_message_id: int, user_chat_id: int, user_id: int
    ) -> None:
        """Remember which user a message forwarded to the staff chat came from."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO handoffs (staff_chat_id, staff_message_id, user_chat_id,"
                " user_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                (
                    staff_chat_id,
                    staff_message_id,
                    user_chat_id,
                    self.user_hash(user_id),
                    self._timestamp(self._now()),
                ),
            )

    def handoff_chat(self, staff_chat_id: int, staff_message_id: int) -> int | None:
        """The user's chat for a staff reply to a forwarded message; None if unknown."""
        with self._lock:
            row = self._db.execute(
                "SELECT user_chat_id FROM handoffs"
                " WHERE staff_chat_id = ? AND staff_message_id = ?",
                (staff_chat_id, staff_message_id),
            ).fetchone()
        return None if row is None else int(row[0])

    # -- learned phrasings ------------------------------------------------------------------

    def add_learned(
        self, text: str, intent_id: str, key: str, user_id: int | None = None
    ) -> tuple[Learned, bool]:
        """Keep a phrasing an admin taught (redacted like any stored question) under ``key``,
        its words as the matcher compares phrasings; ``user_id`` None is the terminal.

        Returns the lesson and True; or, when ``key`` is taught already (another admin was
        quicker, or a double tap), the earlier lesson and False: nothing is kept twice.
        """
        added_at = self._now()
        kept = redact(text).strip()
        added_by = TERMINAL_TEACHER if user_id is None else self.user_hash(user_id)
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO learned (text, intent, added_by, added_at, key) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                (kept, intent_id, added_by, self._timestamp(added_at), key),
            )
            if cursor.rowcount == 1:
                assert cursor.lastrowid is not None
                return Learned(cursor.lastrowid, kept, intent_id, added_at), True
            row = db.execute(
                "SELECT id, text, intent, added_at FROM learned WHERE key = ?", (key,)
            ).fetchone()
        return _learned_row(row), False

    def learned(self) -> list[Learned]:
        """Every taught phrasing, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, text, intent, added_at FROM learned ORDER BY id DESC"
            ).fetchall()
        return [_learned_row(row) for row in rows]

    def forget_learned(self, learned_id: int) -> Learned | None:
        """Undo one taught phrasing; None when it is gone already."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT id, text, intent, added_at FROM learned WHERE id = ?", (learned_id,)
            ).fetchone()
            if row is None:
                return None
            db.execute("DELETE FROM learned WHERE id = ?", (learned_id,))
        return _learned_row(row)

    def add_todo(self, examples: list[str], asked: int) -> bool:
        """Put a group of unanswered questions on the content to-do list (redacted); False
        when that group is listed already (another admin was quicker)."""
        kept = "\n".join(redact(example).strip() for example in examples)
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO todo (examples, asked, added_at) VALUES (?, ?, ?) "
                "ON CONFLICT (examples) DO NOTHING",
                (kept, asked, self._timestamp(self._now())),
            )
        return cursor.rowcount == 1

    def todos(self) -> list[tuple[list[str], int]]:
        """The content to-do list, newest first: each group's phrasings and how often asked."""
        with self._lock:
            rows = self._db.execute("SELECT examples, asked FROM todo ORDER BY id DESC").fetchall()
        return [(str(examples).split("\n"), int(asked)) for examples, asked in rows]

    # -- channel posts ---------------------------------------------------------------------

    def next_post_tag(self) -> str:
        """The tag the next recorded post will get, to put in its deep link before publishing.

        Two previews open at once get the same tag; both posts then share its visits.
        """
        with self._lock:
            row = self._db.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = 'posts'"
            ).fetchone()
        return f"post{(int(row[0]) if row else 0) + 1}"

    def record_post(self, *, intent_id: str, channel: str, message_id: int, tag: str) -> Post:
        """Store a published channel post."""
        published_at = self._now()
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO posts (intent_id, channel, message_id, tag, published_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (intent_id, channel, message_id, tag, self._timestamp(published_at)),
            )
        assert cursor.lastrowid is not None
        return Post(cursor.lastrowid, intent_id, channel, message_id, tag, published_at)

    def posts(self, limit: int = 20) -> list[Post]:
        """Published posts, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, intent_id, channel, message_id, tag, published_at FROM posts"
                " ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [_post(row) for row in rows]

    # -- reports ---------------------------------------------------------------------------

    def stats(self, days: int) -> Stats:
        """Counts over the last ``days`` calendar days, today included.

        Questions are all events except small talk (button presses and deep links included);
        ``sources`` counts questions; deep-link tags and post visits count every deep-link
        event, since opening the bot from a post is a visit whatever was answered.
        """
        first_day, start, end = self._window(days)
        window = "time >= :start AND time < :end"
        questions = f"{window} AND decision != :smalltalk"
        params = {
            "start": start,
            "end": end,
            "smalltalk": ReplyKind.SMALLTALK.value,
            "answer": ReplyKind.ANSWER.value,
            "deep_link": Source.DEEP_LINK.value,
            "top": TOP_INTENTS,
        }
        with self._lock:
            by_decision = dict(
                self._db.execute(
                    f"SELECT decision, COUNT(*) FROM events WHERE {window} GROUP BY decision",
                    params,
                ).fetchall()
            )
            yes, no = self._db.execute(
                "SELECT COALESCE(SUM(feedback = 1), 0), COALESCE(SUM(feedback = 0), 0)"
                f" FROM events WHERE {window}",
                params,
            ).fetchone()
            top = self._db.execute(
                f"SELECT intent, COUNT(*) AS n FROM events WHERE {window} AND decision = :answer"
                " AND intent IS NOT NULL GROUP BY intent ORDER BY n DESC, intent LIMIT :top",
                params,
            ).fetchall()
            sources = self._db.execute(
                f"SELECT source, COUNT(*) AS n FROM events WHERE {questions}"
                " GROUP BY source ORDER BY n DESC, source",
                params,
            ).fetchall()
            tags = self._db.execute(
                f"SELECT tag, COUNT(*) AS n FROM events WHERE {window}"
                " AND source = :deep_link AND tag IS NOT NULL GROUP BY tag ORDER BY n DESC, tag",
                params,
            ).fetchall()
            visits = self._db.execute(
                "SELECT p.id, p.intent_id, p.channel, p.message_id, p.tag, p.published_at,"
                " COUNT(e.id) AS n FROM posts AS p LEFT JOIN events AS e ON e.tag = p.tag"
                " AND e.source = :deep_link AND e.time >= :start AND e.time < :end"
                " GROUP BY p.id ORDER BY n DESC, p.id DESC",
                params,
            ).fetchall()
            daily = dict(
                self._db.execute(
                    f"SELECT substr(time, 1, 10) AS day, COUNT(*) FROM events WHERE {questions}"
                    " GROUP BY day",
                    params,
                ).fetchall()
            )
        count = {decision: int(by_decision.get(decision.value, 0)) for decision in ReplyKind}
        total = sum(count.values()) - count[ReplyKind.SMALLTALK]
        return Stats(
            days=days,
            questions=total,
            answered=count[ReplyKind.ANSWER],
            clarified=count[ReplyKind.CLARIFY],
            fallbacks=count[ReplyKind.FALLBACK],
            safety=count[ReplyKind.SAFETY],
            answer_rate=_rate(count[ReplyKind.ANSWER], total),
            fallback_rate=_rate(count[ReplyKind.FALLBACK], total),
            helpful_yes=int(yes),
            helpful_no=int(no),
            helpful_rate=_rate(int(yes), int(yes) + int(no)),
            top_intents=[(str(intent), int(n)) for intent, n in top],
            sources={str(source): int(n) for source, n in sources},
            deep_link_tags=[(str(tag), int(n)) for tag, n in tags],
            post_visits=[(_post(row[:6]), int(row[6])) for row in visits],
            per_day=[
                (day, int(daily.get(day.isoformat(), 0)))
                for day in (first_day + timedelta(days=i) for i in range(days))
            ],
        )

    def daily_outcomes(self, days: int, zone: tzinfo = UTC) -> list[DayOutcomes]:
        """Each of the last ``days`` days (today included) in the clinic's time zone
        ``zone``, oldest first: its questions by outcome, and the questions handed off."""
        first_day, start, end = self._window(days, zone)
        with self._lock:
            events = self._db.execute(
                "SELECT time, decision FROM events WHERE time >= ? AND time < ? AND decision != ?",
                (start, end, ReplyKind.SMALLTALK.value),
            ).fetchall()
            # A long question is sent to staff in parts, one row each, in the same moment.
            handoffs = self._db.execute(
                "SELECT DISTINCT user_hash, substr(created_at, 1, 19) FROM handoffs"
                " WHERE created_at >= ? AND created_at < ?",
                (start, end),
            ).fetchall()
        counts: dict[date, Counter[str]] = defaultdict(Counter)
        for moment, decision in events:
            counts[datetime.fromisoformat(moment).astimezone(zone).date()][decision] += 1
        for _, moment in handoffs:
            moment_utc = datetime.fromisoformat(moment).replace(tzinfo=UTC)
            counts[moment_utc.astimezone(zone).date()]["handoff"] += 1
        days_shown = (first_day + timedelta(days=i) for i in range(days))
        return [
            DayOutcomes(
                day,
                answered=counts[day][ReplyKind.ANSWER.value],
                clarified=counts[day][ReplyKind.CLARIFY.value],
                fell_back=counts[day][ReplyKind.FALLBACK.value],
                safety=counts[day][ReplyKind.SAFETY.value],
                handed_off=counts[day]["handoff"],
            )
            for day in days_shown
        ]

    def unanswered(self, days: int = 30) -> list[str]:
        """Stored (redacted) texts of unanswered questions in the window, newest first."""
        _, start, end = self._window(days)
        with self._lock:
            rows = self._db.execute(
                "SELECT text FROM events WHERE time >= ? AND time < ? AND decision = ?"
                " AND text IS NOT NULL ORDER BY time DESC, id DESC",
                (start, end, ReplyKind.FALLBACK.value),
            ).fetchall()
        return [str(row[0]) for row in rows]

    # -- internals -------------------------------------------------------------------------

    def _migrate(self) -> None:
        """Bring the schema up to date, one step per transaction.

        The version is read inside each step's write transaction, so processes opening a new
        database at the same moment take turns: each step runs once, the others see it done.
        Steps create only what is missing, so tables left by a step whose version was never
        recorded are adopted rather than refused.
        """
        while True:
            with self._transaction() as db:
                version = int(db.execute("PRAGMA user_version").fetchone()[0])
                if version > SCHEMA_VERSION:
                    raise SchemaVersionError(
                        f"{self.path}: database schema version {version} is newer than this "
                        f"bot understands ({SCHEMA_VERSION}); upgrade the bot or use another "
                        "DATABASE_PATH"
                    )
                if version == SCHEMA_VERSION:
                    return
                for statement in MIGRATIONS[version]:
                    _apply(db, statement)
                db.execute(f"PRAGMA user_version = {version + 1:d}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _now(self) -> datetime:
        now = self._clock()
        return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)

    def _window(self, days: int, zone: tzinfo = UTC) -> tuple[date, str, str]:
        """First day of the last ``days`` days (today included, days as in ``zone``) and the
        window's [start, end) bounds as stored timestamps."""
        if days < 1:
            raise ValueError("a window must be at least one day")
        today = self._now().astimezone(zone).date()
        first_day = today - timedelta(days=days - 1)
        start = datetime.combine(first_day, time(), zone)
        end = datetime.combine(today + timedelta(days=1), time(), zone)
        return first_day, self._timestamp(start), self._timestamp(end)

    @staticmethod
    def _timestamp(moment: datetime) -> str:
        # One fixed width, so timestamps compare correctly as text.
        return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _post(row: tuple[object, ...]) -> Post:
    post_id, intent_id, channel, message_id, tag, published_at = row
    return Post(
        int(str(post_id)),
        str(intent_id),
        str(channel),
        int(str(message_id)),
        str(tag),
        datetime.fromisoformat(str(published_at)),
    )


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _create_private(path: Path) -> None:
    """The database's folder (0700 when we make it) and file (0600) for the bot's user only:
    they hold unanswered questions and chat ids. SQLite gives its -wal and -shm files the
    database file's permissions."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _apply(db: sqlite3.Connection, statement: str) -> None:
    """One migration statement; a column that exists already is adopted (SQLite has no ADD
    COLUMN IF NOT EXISTS), like the tables and indexes the other steps create if missing."""
    try:
        db.execute(statement)
    except sqlite3.OperationalError as exc:
        if not str(exc).startswith("duplicate column name"):
            raise


def _learned_row(row: Sequence[Any]) -> Learned:
    """A ``learned`` row (id, text, intent, added_at) as a Learned."""
    return Learned(int(row[0]), str(row[1]), str(row[2]), datetime.fromisoformat(row[3]))
