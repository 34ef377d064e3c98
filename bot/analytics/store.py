"""The analytics database: one row per question, feedback, staff handoffs and channel posts.

A SQLite file (the default) or a PostgreSQL server, through SQLAlchemy Core: one set of SQL
statements for both, bound by name. SQLite runs in WAL mode with ``synchronous=NORMAL``;
every ``record`` is its own committed transaction, so an event whose id was returned
survives the process being killed. ``schema.MIGRATIONS`` holds the schema's steps, each
applied in one transaction, so a database from any older version is brought up to date when
opened and a half-applied step never exists. Several processes may share one PostgreSQL
database: each statement below is safe when another process runs the same at once.

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
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, CursorResult, Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.elements import TextClause

from bot.analytics.database_url import MEMORY, Database
from bot.analytics.records import (
    Arrival,
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
from bot.analytics.schema import SCHEMA_VERSION, statements
from bot.engine import ReplyKind

TOP_INTENTS = 5
TERMINAL_TEACHER = "terminal"  # who taught a phrasing in `python -m bot gaps --review`
# How long one statement waits for another process's write lock before SQLite gives up (and
# for a PostgreSQL server to accept a connection).
DEFAULT_BUSY_TIMEOUT = 10.0
# PostgreSQL connections kept per worker: the database thread, and the on-loop reads that
# run in asyncio's default executor (min(32, cores + 4) threads), with room to spare.
POOL_SIZE = 8
# Held while PostgreSQL's schema is migrated, so workers starting together take turns.
_MIGRATION_LOCK = 0x0C11_41C0
_AUTOCOMMIT = "autocommit"  # Connection.info key: no BEGIN for this SQLite statement
# Event ids are drawn at random when the caller needs the id before the row is written
# (``new_event_id``): 59 bits, at most 18 digits in a feedback button's callback data, and a
# clash as likely as guessing a 59-bit secret.
_EVENT_ID_BITS = 59
_UPDATE_EVENTS = 1 << _EVENT_ID_BITS  # update N's event id: this + N (still 18 digits)
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
        database: Database | Path,
        salt: str,
        retention_days: int = 90,
        clock: Callable[[], datetime] = utc_now,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> None:
        """``database``: a Database (``DATABASE_URL``), or a SQLite file's path.

        ``busy_timeout``: seconds a SQLite statement waits for another process's write lock
        once the database is open (the bot keeps it short and tries again in its database
        thread: ``bot.analytics.background``); opening and migrating wait
        DEFAULT_BUSY_TIMEOUT.
        """
        if not salt:
            raise ValueError("the analytics salt must not be empty")
        if retention_days < 1:
            raise ValueError("retention_days must be at least 1")
        self.database = database if isinstance(database, Database) else Database.sqlite(database)
        self.path = self.database.path
        self.retention_days = retention_days
        self._salt = salt.encode()
        self._clock = clock
        self._lock = threading.RLock()
        self._sqlite = self.database.dialect == "sqlite"
        if self.path is not None:
            _create_private(self.path)
        self._engine = (
            _sqlite_engine(self.database) if self._sqlite else _postgresql_engine(self.database)
        )
        # SQLite: one connection for the store's life, used under the lock (checking it out
        # of a pool for every call cost more than the statement). PostgreSQL: the pool's.
        self._connection: Connection | None = self._engine.connect() if self._sqlite else None
        # A SQLite file's second connection, for reads on the event loop (``_read_apart``).
        self._apart_engine: Engine | None = None
        self._apart: Connection | None = None
        self._apart_lock = threading.Lock()
        # The transaction of ``batch``: while it is open, the thread holding the lock writes
        # and reads through it.
        self._batch: Connection | None = None
        try:
            self._migrate()
            # The bot also purges on a schedule; this keeps the retention promise even if
            # it was stopped for longer than the retention period.
            self.purge_expired()
            if self._sqlite:
                self._pragma(f"busy_timeout = {round(busy_timeout * 1000):d}")
        except BaseException:
            self._dispose()
            raise

    @classmethod
    def in_memory(cls, salt: str = "test", clock: Callable[[], datetime] = utc_now) -> Self:
        """A throwaway store for tests."""
        return cls(Path(MEMORY), salt, clock=clock)

    def close(self) -> None:
        """Close the database (committed data is already on disk)."""
        with self._lock:
            self._dispose()

    def _dispose(self) -> None:
        for connection in (self._connection, self._apart):
            if connection is not None:
                connection.close()
        for engine in (self._engine, self._apart_engine):
            if engine is not None:
                engine.dispose()

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
        with self._read() as db:
            return self._version(db)

    def verify_salt(self) -> None:
        """Check that this store's salt is the one the database's user hashes were made
        with (recording it on first use); SaltMismatchError if not.

        With another salt, every user would look new: ``/forget`` would delete nothing and
        feedback buttons already sent would stop working, without a word.
        """
        check = self._salt_check()
        with self._transaction() as db:
            # Workers starting together on a new database: the first one's salt is kept.
            _run(
                db,
                "INSERT INTO meta (key, value) VALUES ('salt_check', :check)"
                " ON CONFLICT (key) DO NOTHING",
                check=check,
            )
            row = _run(db, "SELECT value FROM meta WHERE key = 'salt_check'").one()
        if not hmac.compare_digest(str(row[0]), check):
            raise SaltMismatchError(
                f"{self.database}: the analytics salt is not the one this database's users were "
                "recorded with (was the .salt file beside it lost, or ANALYTICS_SALT "
                "changed?). Restore the old salt; or, to go on with this one, run "
                "'python -m bot adopt-salt' (earlier users can then no longer be recognised: "
                "/forget finds nothing of theirs and their old feedback buttons stop working)"
            )

    def adopt_salt(self) -> None:
        """Record this store's salt as the database's, replacing any other (see verify_salt)."""
        with self._write_one() as db:
            _run(
                db,
                "INSERT INTO meta (key, value) VALUES ('salt_check', :check)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                check=self._salt_check(),
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
        columns = {
            "time": self._timestamp(self._now()),
            "user_hash": None if user_id is None else self.user_hash(user_id),
            "chat_type": chat_type,
            "source": source.value,
            "tag": tag,
            "intent": intent_id,
            "score": round(float(score), 1),
            "decision": decision.value,
            "text": stored_text,
        }
        if event_id is not None:  # else the database numbers it
            columns["id"] = event_id
        names = ", ".join(columns)
        values = ", ".join(f":{name}" for name in columns)
        with self._write_one() as db:
            row = _run(
                db,
                f"INSERT INTO events ({names}) VALUES ({values})"
                " ON CONFLICT (id) DO NOTHING RETURNING id",
                **columns,
            ).first()
        if row is None:  # recorded already: an update handled again, after its worker died
            assert event_id is not None
            return event_id
        return int(row[0])

    @staticmethod
    def new_event_id(update_id: int | None = None) -> int:
        """An id for an event that is written later: the reply (its feedback buttons carry
        the id) need not wait for the database. The event of an update gets one of its own,
        so an update handled twice (its worker died; another took it over) is recorded once;
        others get a random one (the two ranges never meet)."""
        if update_id is not None:
            return _UPDATE_EVENTS + update_id
        return secrets.randbits(_EVENT_ID_BITS) + 1

    def set_feedback(self, event_id: int, user_id: int, helpful: bool) -> Vote:
        """Store the first Yes/No vote on an event of that user; a second press (a double tap
        before the buttons go) neither overwrites it nor counts twice."""
        with self._transaction() as db:
            row = _run(
                db,
                "SELECT feedback FROM events WHERE id = :id AND user_hash = :user",
                id=event_id,
                user=self.user_hash(user_id),
            ).first()
            if row is None:
                return Vote.UNKNOWN
            saved = _run(
                db,
                "UPDATE events SET feedback = :helpful WHERE id = :id AND feedback IS NULL",
                helpful=int(helpful),
                id=event_id,
            ).rowcount
        return Vote.SAVED if saved else Vote.ALREADY

    def forget_user(self, user_id: int) -> int:
        """Delete every event, handoff and the conversation state of a user; return the
        number of rows deleted."""
        user = self.user_hash(user_id)
        with self._transaction() as db:
            events = _run(db, "DELETE FROM events WHERE user_hash = :user", user=user).rowcount
            handoffs = _run(db, "DELETE FROM handoffs WHERE user_hash = :user", user=user).rowcount
            state = _run(db, "DELETE FROM user_state WHERE user_id = :id", id=user_id).rowcount
        return events + handoffs + state

    # -- conversation state ----------------------------------------------------------------

    def user_states(self) -> dict[int, bytes]:
        """Every user's saved conversation state (as ``save_user_state`` got it)."""
        with self._read() as db:
            rows = _run(db, "SELECT user_id, data FROM user_state").all()
        return {int(user_id): bytes(data) for user_id, data in rows}

    def user_state(self, user_id: int) -> bytes | None:
        """One user's saved conversation state (read before each of their updates when
        several workers serve the bot; it does not wait behind the database thread)."""
        with self._read_apart() as db:
            row = _run(db, "SELECT data FROM user_state WHERE user_id = :id", id=user_id).first()
        return None if row is None else bytes(row[0])

    def save_user_state(self, user_id: int, data: bytes | None) -> None:
        """Keep a user's conversation state (serialised by the caller); None deletes it."""
        with self._write_one() as db:
            if data is None:
                _run(db, "DELETE FROM user_state WHERE user_id = :id", id=user_id)
            else:
                _run(
                    db,
                    "INSERT INTO user_state (user_id, data, updated) VALUES (:id, :data, :now)"
                    " ON CONFLICT (user_id) DO UPDATE"
                    " SET data = excluded.data, updated = excluded.updated",
                    id=user_id,
                    data=data,
                    now=self._timestamp(self._now()),
                )

    def purge_expired(self) -> int:
        """Delete question texts and handoffs older than the retention period; return rows."""
        cutoff = self._timestamp(self._now() - timedelta(days=self.retention_days))
        with self._transaction() as db:
            texts = _run(
                db,
                "UPDATE events SET text = NULL WHERE text IS NOT NULL AND time < :cutoff",
                cutoff=cutoff,
            ).rowcount
            handoffs = _run(
                db, "DELETE FROM handoffs WHERE created_at < :cutoff", cutoff=cutoff
            ).rowcount
            _run(
                db,
                "DELETE FROM inbox WHERE done = 1 AND received < :cutoff",
                cutoff=self._timestamp(self._now() - INBOX_KEEP),
            )
            _run(db, "DELETE FROM job_runs WHERE ran_at < :cutoff", cutoff=cutoff)
            _run(db, "DELETE FROM workers WHERE seen_at < :cutoff", cutoff=cutoff)
        return texts + handoffs

    def knowledge_version(self) -> str | None:
        """The version of what the bot knows (content and taught phrasings) that the last
        change published; None before any."""
        with self._read() as db:
            row = _run(db, "SELECT value FROM meta WHERE key = 'knowledge_version'").first()
        return None if row is None else str(row[0])

    def publish_knowledge_change(self) -> str:
        """A new knowledge version, after /reload, a lesson or an undo: workers sharing the
        database see it differ from theirs and load the content and lessons again."""
        version = secrets.token_hex(8)
        with self._write_one() as db:
            _run(
                db,
                "INSERT INTO meta (key, value) VALUES ('knowledge_version', :version)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                version=version,
            )
        return version

    def claim_run(self, job: str, due: str) -> bool:
        """Whether this process is the one to run scheduled ``job`` for ``due`` (the day it
        is due): True for the first to ask, False for every other worker sharing the
        database."""
        with self._write_one() as db:
            return _inserted(
                db,
                "INSERT INTO job_runs (job, due, ran_at) VALUES (:job, :due, :now)"
                " ON CONFLICT (job, due) DO NOTHING",
                job=job,
                due=due,
                now=self._timestamp(self._now()),
            )

    # -- update inbox ----------------------------------------------------------------------

    def inbox_receive(
        self, updates: list[tuple[int, str, int | None]], worker: str | None = None
    ) -> None:
        """Keep received updates (id, JSON, chat id) until they are handled, as ``worker``'s;
        a known id is left alone."""
        if not updates:
            return
        received = self._timestamp(self._now())
        with self._write_one() as db:
            db.execute(
                _sql(
                    "INSERT INTO inbox (update_id, body, received, worker, chat_id)"
                    " VALUES (:id, :body, :now, :worker, :chat)"
                    " ON CONFLICT (update_id) DO NOTHING"
                ),
                [
                    {"id": update_id, "body": body, "now": received, "worker": worker, "chat": chat}
                    for update_id, body, chat in updates
                ],
            )

    def inbox_check(
        self, update_id: int, chat_id: int | None, user_id: int | None = None
    ) -> Arrival:
        """What each update asks on arrival, in one read on the event loop's behalf: was it
        handled already; is an earlier update of chat ``chat_id`` still to be handled (by
        any worker; never, for None); and user ``user_id``'s conversation state (when
        given), which a worker sharing users with others reads before each update."""
        with self._read_apart() as db:
            handled, earlier, state = _run(
                db,
                "SELECT (SELECT done FROM inbox WHERE update_id = :id),"
                f" {_EARLIER_WAITING},"
                " (SELECT data FROM user_state WHERE user_id = :user)",
                id=update_id,
                chat=chat_id,
                user=user_id,
            ).one()
        return Arrival(bool(handled), bool(earlier), None if state is None else bytes(state))

    def inbox_highest(self) -> int:
        """The highest update id the inbox holds (0 when it is empty)."""
        with self._read_apart() as db:
            return int(_run(db, "SELECT COALESCE(MAX(update_id), 0) FROM inbox").scalar_one())

    def inbox_earlier_unhandled(self, chat_id: int, update_id: int) -> bool:
        """Whether an earlier update of this chat is still to be handled (by any worker).
        Asked on the event loop: it does not wait behind the database thread."""
        with self._read_apart() as db:
            return bool(_run(db, f"SELECT {_EARLIER_WAITING}", chat=chat_id, id=update_id).scalar())

    def worker_alive(self, worker: str) -> None:
        """``worker`` is running (said every few seconds; see ``inbox_take_over``)."""
        with self._write_one() as db:
            _run(
                db,
                "INSERT INTO workers (id, seen_at) VALUES (:id, :now)"
                " ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
                id=worker,
                now=self._timestamp(self._now()),
            )

    def inbox_take_over(self, worker: str, alive_within: timedelta) -> list[str]:
        """Updates never handled whose worker has not said it is alive within
        ``alive_within`` (it died, or the process before this one), oldest first, as JSON:
        they become ``worker``'s. Two workers asking at once share them out, never both
        taking one."""
        cutoff = self._timestamp(self._now() - alive_within)
        with self._transaction() as db:
            rows = _run(
                db,
                "UPDATE inbox SET worker = :me WHERE done = 0 AND body IS NOT NULL"
                " AND (worker IS NULL OR (worker != :me AND worker NOT IN"
                " (SELECT id FROM workers WHERE seen_at >= :cutoff)))"
                " RETURNING update_id, body",
                me=worker,
                cutoff=cutoff,
            ).all()
        return [str(body) for _, body in sorted(rows)]

    def ping(self) -> None:
        """Ask the database something (for health checks); raises when it cannot answer."""
        with self._read_apart() as db:
            _run(db, "SELECT 1").one()

    def inbox_done(self, update_id: int) -> None:
        """Mark an update handled; its content (the patient's words) is dropped at once."""
        received = self._timestamp(self._now())
        with self._write_one() as db:
            _run(
                db,
                "INSERT INTO inbox (update_id, body, received, done) VALUES (:id, NULL, :now, 1)"
                " ON CONFLICT (update_id) DO UPDATE SET done = 1, body = NULL",
                id=update_id,
                now=received,
            )

    # -- staff handoff ---------------------------------------------------------------------

    def save_handoff(
        self, *, staff_chat_id: int, staff_message_id: int, user_chat_id: int, user_id: int
    ) -> None:
        """Remember which user a message forwarded to the staff chat came from."""
        with self._write_one() as db:
            _run(
                db,
                "INSERT INTO handoffs (staff_chat_id, staff_message_id, user_chat_id, user_hash,"
                " created_at) VALUES (:staff_chat, :staff_message, :user_chat, :user, :now)"
                " ON CONFLICT (staff_chat_id, staff_message_id) DO UPDATE"
                " SET user_chat_id = excluded.user_chat_id, user_hash = excluded.user_hash,"
                " created_at = excluded.created_at",
                staff_chat=staff_chat_id,
                staff_message=staff_message_id,
                user_chat=user_chat_id,
                user=self.user_hash(user_id),
                now=self._timestamp(self._now()),
            )

    def handoff_chat(self, staff_chat_id: int, staff_message_id: int) -> int | None:
        """The user's chat for a staff reply to a forwarded message; None if unknown."""
        with self._read() as db:
            row = _run(
                db,
                "SELECT user_chat_id FROM handoffs"
                " WHERE staff_chat_id = :staff_chat AND staff_message_id = :staff_message",
                staff_chat=staff_chat_id,
                staff_message=staff_message_id,
            ).first()
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
            added = _run(
                db,
                "INSERT INTO learned (text, intent, added_by, added_at, key)"
                " VALUES (:text, :intent, :by, :now, :key) ON CONFLICT (key) DO NOTHING"
                " RETURNING id",
                text=kept,
                intent=intent_id,
                by=added_by,
                now=self._timestamp(added_at),
                key=key,
            ).first()
            if added is not None:
                return Learned(int(added[0]), kept, intent_id, added_at), True
            row = _run(
                db, "SELECT id, text, intent, added_at FROM learned WHERE key = :key", key=key
            ).one()
        return _learned_row(row), False

    def learned(self) -> list[Learned]:
        """Every taught phrasing, newest first."""
        with self._read() as db:
            rows = _run(db, "SELECT id, text, intent, added_at FROM learned ORDER BY id DESC").all()
        return [_learned_row(row) for row in rows]

    def forget_learned(self, learned_id: int) -> Learned | None:
        """Undo one taught phrasing; None when it is gone already."""
        with self._transaction() as db:
            row = _run(
                db,
                "DELETE FROM learned WHERE id = :id RETURNING id, text, intent, added_at",
                id=learned_id,
            ).first()
        return None if row is None else _learned_row(row)

    def add_todo(self, examples: list[str], asked: int) -> bool:
        """Put a group of unanswered questions on the content to-do list (redacted); False
        when that group is listed already (another admin was quicker)."""
        kept = "\n".join(redact(example).strip() for example in examples)
        with self._write_one() as db:
            return _inserted(
                db,
                "INSERT INTO todo (examples, asked, added_at) VALUES (:examples, :asked, :now)"
                " ON CONFLICT (examples) DO NOTHING",
                examples=kept,
                asked=asked,
                now=self._timestamp(self._now()),
            )

    def todos(self) -> list[tuple[list[str], int]]:
        """The content to-do list, newest first: each group's phrasings and how often asked."""
        with self._read() as db:
            rows = _run(db, "SELECT examples, asked FROM todo ORDER BY id DESC").all()
        return [(str(examples).split("\n"), int(asked)) for examples, asked in rows]

    # -- channel posts ---------------------------------------------------------------------

    def next_post_tag(self) -> str:
        """The tag the next recorded post will get, to put in its deep link before publishing.

        Two previews open at once get the same tag; both posts then share its visits.
        """
        with self._read() as db:
            # Posts are never deleted, so the highest id is the last one given.
            row = _run(db, "SELECT COALESCE(MAX(id), 0) FROM posts").one()
        return f"post{int(row[0]) + 1}"

    def record_post(self, *, intent_id: str, channel: str, message_id: int, tag: str) -> Post:
        """Store a published channel post."""
        published_at = self._now()
        with self._write_one() as db:
            row = _run(
                db,
                "INSERT INTO posts (intent_id, channel, message_id, tag, published_at)"
                " VALUES (:intent, :channel, :message, :tag, :now) RETURNING id",
                intent=intent_id,
                channel=channel,
                message=message_id,
                tag=tag,
                now=self._timestamp(published_at),
            ).one()
        return Post(int(row[0]), intent_id, channel, message_id, tag, published_at)

    def posts(self, limit: int = 20) -> list[Post]:
        """Published posts, newest first."""
        with self._read() as db:
            rows = _run(
                db,
                "SELECT id, intent_id, channel, message_id, tag, published_at FROM posts"
                " ORDER BY id DESC LIMIT :limit",
                limit=limit,
            ).all()
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
        with self._read() as db:
            by_decision = {
                str(decision): int(n)
                for decision, n in db.execute(
                    _sql(f"SELECT decision, COUNT(*) FROM events WHERE {window} GROUP BY decision"),
                    params,
                ).all()
            }
            yes, no = db.execute(
                _sql(
                    "SELECT COALESCE(SUM(CASE WHEN feedback = 1 THEN 1 ELSE 0 END), 0),"
                    " COALESCE(SUM(CASE WHEN feedback = 0 THEN 1 ELSE 0 END), 0)"
                    f" FROM events WHERE {window}"
                ),
                params,
            ).one()
            top = db.execute(
                _sql(
                    f"SELECT intent, COUNT(*) AS n FROM events WHERE {window}"
                    " AND decision = :answer AND intent IS NOT NULL"
                    " GROUP BY intent ORDER BY n DESC, intent LIMIT :top"
                ),
                params,
            ).all()
            sources = db.execute(
                _sql(
                    f"SELECT source, COUNT(*) AS n FROM events WHERE {questions}"
                    " GROUP BY source ORDER BY n DESC, source"
                ),
                params,
            ).all()
            tags = db.execute(
                _sql(
                    f"SELECT tag, COUNT(*) AS n FROM events WHERE {window} AND source = :deep_link"
                    " AND tag IS NOT NULL GROUP BY tag ORDER BY n DESC, tag"
                ),
                params,
            ).all()
            visits = db.execute(
                _sql(
                    "SELECT p.id, p.intent_id, p.channel, p.message_id, p.tag, p.published_at,"
                    " COUNT(e.id) AS n FROM posts AS p LEFT JOIN events AS e ON e.tag = p.tag"
                    " AND e.source = :deep_link AND e.time >= :start AND e.time < :end"
                    " GROUP BY p.id ORDER BY n DESC, p.id DESC"
                ),
                params,
            ).all()
            daily = {
                str(day): int(n)
                for day, n in db.execute(
                    _sql(
                        "SELECT substr(time, 1, 10) AS day, COUNT(*) FROM events"
                        f" WHERE {questions} GROUP BY substr(time, 1, 10)"
                    ),
                    params,
                ).all()
            }
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
        with self._read() as db:
            events = _run(
                db,
                "SELECT time, decision FROM events"
                " WHERE time >= :start AND time < :end AND decision != :smalltalk",
                start=start,
                end=end,
                smalltalk=ReplyKind.SMALLTALK.value,
            ).all()
            # A long question is sent to staff in parts, one row each, in the same moment.
            handoffs = _run(
                db,
                "SELECT DISTINCT user_hash, substr(created_at, 1, 19) FROM handoffs"
                " WHERE created_at >= :start AND created_at < :end",
                start=start,
                end=end,
            ).all()
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
        with self._read() as db:
            rows = _run(
                db,
                "SELECT text FROM events WHERE time >= :start AND time < :end"
                " AND decision = :fallback AND text IS NOT NULL ORDER BY time DESC, id DESC",
                start=start,
                end=end,
                fallback=ReplyKind.FALLBACK.value,
            ).all()
        return [str(row[0]) for row in rows]

    # -- internals -------------------------------------------------------------------------

    def _migrate(self) -> None:
        """Bring the schema up to date, one step per transaction.

        The version is read inside each step's transaction, under a write lock (SQLite's
        BEGIN IMMEDIATE, a PostgreSQL advisory lock), so processes opening a new database at
        the same moment take turns: each step runs once, the others see it done. Steps
        create only what is missing, so tables left by a step whose version was never
        recorded are adopted rather than refused.
        """
        dialect = self.database.dialect
        while True:
            with self._transaction() as db:
                if not self._sqlite:
                    _run(db, f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK:d})")
                    _run(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                version = self._version(db)
                if version > SCHEMA_VERSION:
                    raise SchemaVersionError(
                        f"{self.database}: database schema version {version} is newer than "
                        f"this bot understands ({SCHEMA_VERSION}); upgrade the bot or use "
                        "another database"
                    )
                if version == SCHEMA_VERSION:
                    return
                for statement in statements(version, dialect):
                    self._apply(db, statement)
                self._set_version(db, version + 1)

    def _version(self, db: Connection) -> int:
        if self._sqlite:
            return int(db.exec_driver_sql("PRAGMA user_version").one()[0])
        row = _run(db, "SELECT MAX(version) FROM schema_version").one()
        return int(row[0] or 0)

    def _set_version(self, db: Connection, version: int) -> None:
        if self._sqlite:
            db.exec_driver_sql(f"PRAGMA user_version = {version:d}")
        else:
            _run(db, "DELETE FROM schema_version")
            _run(db, "INSERT INTO schema_version (version) VALUES (:version)", version=version)

    def _apply(self, db: Connection, statement: str) -> None:
        """One migration statement; on SQLite, a column that exists already is adopted (it
        has no ADD COLUMN IF NOT EXISTS), like the tables and indexes the steps create if
        missing."""
        if not self._sqlite:
            db.exec_driver_sql(statement)
            return
        try:
            db.exec_driver_sql(statement)
        except OperationalError as exc:
            if "duplicate column name" not in str(exc.orig):
                raise

    def _pragma(self, setting: str) -> None:
        """A SQLite setting of the store's one connection."""
        with self._read() as db:
            db.exec_driver_sql(f"PRAGMA {setting}")

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Calls made inside share one transaction: committed together when the block ends,
        or none of them if it raises. The database thread writes what it has queued this
        way: one commit (one round trip to a PostgreSQL server) for many small writes."""
        with self._lock:
            if self._batch is not None:
                yield
                return
            with self._transaction() as db:
                self._batch = db
                try:
                    yield
                finally:
                    self._batch = None

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One transaction that writes (on SQLite, BEGIN IMMEDIATE: the write lock is taken
        at once, so a read-then-write never meets another writer halfway)."""
        with self._lock:
            if self._batch is not None:
                yield self._batch
                return
            if self._connection is None:
                with self._engine.begin() as db:
                    yield db
                return
            with self._connection.begin():
                yield self._connection

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """Reads only: on SQLite in autocommit (each statement sees committed data and takes
        no write lock), on PostgreSQL in a transaction that is rolled back."""
        with self._lock:
            if self._batch is not None:
                yield self._batch
                return
            if self._connection is None:
                with self._engine.connect() as db:
                    yield db
                return
            try:
                with self._autocommit(self._connection) as db:
                    yield db
            finally:
                self._connection.rollback()  # ends SQLAlchemy's transaction; SQLite had none

    @contextmanager
    def _read_apart(self) -> Iterator[Connection]:
        """A read that must not wait behind the database thread's writes: on a SQLite file
        through a second connection with a lock of its own (WAL lets it read while the
        other writes), on PostgreSQL through a pooled connection of its own. A database in
        memory exists on one connection only: the store's."""
        if not self._sqlite:
            with self._engine.connect() as db:
                yield db
            return
        if self.path is None:
            with self._read() as db:
                yield db
            return
        with self._apart_lock:
            if self._apart is None:
                self._apart_engine = _sqlite_engine(self.database)
                self._apart = self._apart_engine.connect()
            try:
                with self._autocommit(self._apart) as db:
                    yield db
            finally:
                self._apart.rollback()

    @contextmanager
    def _write_one(self) -> Iterator[Connection]:
        """One statement that writes, atomic by itself: on SQLite in autocommit, with no
        BEGIN and COMMIT around it (they cost more than the statement); on PostgreSQL in a
        transaction of its own."""
        with self._lock:
            if self._batch is not None:
                yield self._batch
                return
            if self._connection is None:
                with self._engine.begin() as db:
                    yield db
                return
            try:
                with self._autocommit(self._connection) as db:
                    yield db
            except BaseException:
                self._connection.rollback()
                raise
            self._connection.commit()  # ends SQLAlchemy's transaction; SQLite had none

    @staticmethod
    @contextmanager
    def _autocommit(db: Connection) -> Iterator[Connection]:
        db.info[_AUTOCOMMIT] = True  # read by the "begin" listener of _sqlite_engine
        try:
            yield db
        finally:
            db.info[_AUTOCOMMIT] = False

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


def _post(row: Sequence[Any]) -> Post:
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


@lru_cache(maxsize=256)
def _sql(statement: str) -> TextClause:
    """A statement with ``:name`` parameters, parsed once."""
    return text(statement)


# An earlier update of chat :chat than update :id, received and not yet handled.
_EARLIER_WAITING = (
    "EXISTS (SELECT 1 FROM inbox WHERE chat_id = :chat AND update_id < :id"
    " AND done = 0 AND body IS NOT NULL)"
)


def _run(db: Connection, statement: str, **params: Any) -> CursorResult[*tuple[Any, ...]]:
    return db.execute(_sql(statement), params)


def _inserted(db: Connection, statement: str, **params: Any) -> bool:
    """Run an ``INSERT ... ON CONFLICT DO NOTHING`` of one row: whether the row was new."""
    return _run(db, statement, **params).rowcount == 1


def _sqlite_engine(database: Database) -> Engine:
    """One connection, shared by the store's threads under its lock (as sqlite3 was used
    before SQLAlchemy): WAL, NORMAL sync, secure delete, and BEGIN IMMEDIATE for writes."""
    engine = create_engine(
        database.url,
        poolclass=StaticPool,
        hide_parameters=True,  # errors must not carry patients' words into the logs
        connect_args={"check_same_thread": False, "timeout": DEFAULT_BUSY_TIMEOUT},
    )

    @event.listens_for(engine, "connect")
    def _configure(connection: Any, _record: Any) -> None:
        connection.isolation_level = None  # transactions are begun below, not by sqlite3
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL keeps every committed event through a killed process
        # (tests/test_database_durability.py); only a power cut may lose the last few.
        # FULL would fsync on every event, which caps a busy bot at disk speed.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # /forget and the retention purge promise deletion: overwrite, do not just unlink
        # pages (the default depends on how SQLite was built).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(db: Connection) -> None:
        if not db.info.get(_AUTOCOMMIT, False):
            # Straight to the driver: a second SQLAlchemy execution per call cost as much as
            # the statement itself.
            driver = db.connection.driver_connection
            assert driver is not None
            try:
                driver.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:  # locked: as SQLAlchemy would raise it
                raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc

    return engine


def _postgresql_engine(database: Database) -> Engine:
    """A pool for the database thread and the reads made on the event loop's behalf (at
    most one per thread of asyncio's default executor), so that connections are reused,
    not opened and closed under load. Connections are not pinged before each use (a round
    trip per statement, a sixth of a busy worker's time): after a server restart the first
    statement on a stale connection fails, SQLAlchemy drops the whole pool, and the
    database thread tries the statement again on a new connection; a read made for the
    event loop goes ahead without its answer, as it does whenever the database is away."""
    return create_engine(
        database.url,
        pool_size=POOL_SIZE,
        hide_parameters=True,
        connect_args={"connect_timeout": round(DEFAULT_BUSY_TIMEOUT)},
    )


def _learned_row(row: Sequence[Any]) -> Learned:
    """A ``learned`` row (id, text, intent, added_at) as a Learned."""
    return Learned(int(row[0]), str(row[1]), str(row[2]), datetime.fromisoformat(row[3]))
