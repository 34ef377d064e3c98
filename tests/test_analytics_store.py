"""The analytics database: events, rates and windows, privacy, feedback, handoffs, posts, schema."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from bot.analytics import schema as schema_module
from bot.analytics.database_url import Database
from bot.analytics.records import Arrival, SaltMismatchError, SchemaVersionError, Source, Vote
from bot.analytics.schema import SCHEMA_VERSION, statements
from bot.analytics.store import EventStore
from bot.engine import ReplyKind
from tests.support.database_rows import rows_of

NOW = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set_days_ago(self, days: float) -> None:
        self.now = NOW - timedelta(days=days)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(database: Database, clock: FakeClock) -> Iterator[EventStore]:
    """A store on each kind of database (the whole suite runs on SQLite and PostgreSQL)."""
    with EventStore(database, salt="test", clock=clock) as store:
        yield store


def ask(
    store: EventStore,
    decision: ReplyKind = ReplyKind.ANSWER,
    *,
    user_id: int | None = 1,
    source: Source = Source.PRIVATE,
    intent_id: str | None = "pricing",
    tag: str | None = None,
    text: str | None = None,
    event_id: int | None = None,
) -> int:
    """Record one event with sensible defaults."""
    return store.record(
        user_id=user_id,
        chat_type="private",
        source=source,
        decision=decision,
        intent_id=intent_id if decision is ReplyKind.ANSWER else None,
        score=80.0,
        tag=tag,
        text=text,
        event_id=event_id,
    )


def raw_rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    """Read the database file directly, as anyone with the file could."""
    with closing(sqlite3.connect(path)) as db:
        return db.execute(sql).fetchall()


# -- counts, rates and windows -------------------------------------------------------------


def test_stats_count_decisions_and_rates_in_the_window(store: EventStore, clock: FakeClock) -> None:
    clock.set_days_ago(40)  # outside both windows
    ask(store, ReplyKind.FALLBACK)
    clock.set_days_ago(10)  # in the 30-day window only
    ask(store, ReplyKind.ANSWER)
    ask(store, ReplyKind.FALLBACK)
    clock.set_days_ago(0)
    for decision in (ReplyKind.ANSWER, ReplyKind.ANSWER, ReplyKind.ANSWER, ReplyKind.CLARIFY):
        ask(store, decision)
    ask(store, ReplyKind.SAFETY)
    ask(store, ReplyKind.FALLBACK)
    ask(store, ReplyKind.SMALLTALK)  # "hello" is not a question

    week = store.stats(7)
    assert (week.questions, week.answered, week.clarified, week.fallbacks, week.safety) == (
        6,
        3,
        1,
        1,
        1,
    )
    assert week.answer_rate == pytest.approx(3 / 6)
    assert week.fallback_rate == pytest.approx(1 / 6)
    month = store.stats(30)
    assert (month.questions, month.answered, month.fallbacks) == (8, 4, 2)
    assert month.answer_rate == pytest.approx(4 / 8)


def test_window_starts_at_midnight_of_the_first_calendar_day(
    store: EventStore, clock: FakeClock
) -> None:
    first_day = NOW.replace(hour=0, minute=0) - timedelta(days=6)
    clock.now = first_day - timedelta(seconds=1)
    ask(store)  # the evening before the 7-day window
    clock.now = first_day
    ask(store)  # the first moment of the window
    clock.now = NOW
    assert store.stats(7).questions == 1
    assert store.stats(1).questions == 0


def test_per_day_has_every_calendar_day_oldest_first(store: EventStore, clock: FakeClock) -> None:
    clock.set_days_ago(6)
    ask(store)
    ask(store)
    clock.set_days_ago(2)
    ask(store, ReplyKind.FALLBACK)
    ask(store, ReplyKind.SMALLTALK)
    clock.set_days_ago(0)
    ask(store)

    per_day = store.stats(7).per_day
    assert [day for day, _ in per_day] == [date(2024, 5, 9) + timedelta(days=i) for i in range(7)]
    assert [count for _, count in per_day] == [2, 0, 0, 0, 1, 0, 1]


def test_empty_store_has_no_rates_but_a_full_calendar(store: EventStore) -> None:
    stats = store.stats(30)
    assert stats.questions == 0
    assert stats.answer_rate is None and stats.fallback_rate is None
    assert stats.helpful_rate is None
    assert len(stats.per_day) == 30 and all(count == 0 for _, count in stats.per_day)
    assert stats.per_day[-1][0] == NOW.date()


def test_top_intents_sources_and_deep_link_tags(store: EventStore) -> None:
    for intent, times in [("a", 1), ("b", 6), ("c", 2), ("d", 5), ("e", 3), ("f", 4)]:
        for _ in range(times):
            ask(store, intent_id=intent)
    ask(store, ReplyKind.CLARIFY, source=Source.GROUP)
    ask(store, source=Source.DEEP_LINK, intent_id="b", tag="post1")
    ask(store, source=Source.DEEP_LINK, intent_id="b", tag="post1")
    ask(store, source=Source.DEEP_LINK, intent_id="c", tag="inline")
    ask(store, source=Source.BUTTON, intent_id="c")

    stats = store.stats(7)
    assert stats.top_intents == [("b", 8), ("d", 5), ("c", 4), ("f", 4), ("e", 3)]
    assert stats.sources == {"private": 21, "group": 1, "deep_link": 3, "button": 1}
    assert stats.deep_link_tags == [("post1", 2), ("inline", 1)]


def test_invalid_source_or_decision_fails_loudly(store: EventStore) -> None:
    with pytest.raises(ValueError):
        store.record(
            user_id=1,
            chat_type="private",
            source="telegraph",  # type: ignore[arg-type]
            decision=ReplyKind.ANSWER,
            intent_id="x",
            score=1.0,
        )


# -- privacy -------------------------------------------------------------------------------


def test_text_is_stored_only_for_unanswered_questions_and_redacted(database: Database) -> None:
    with EventStore(database, salt="pepper") as store:
        ask(store, ReplyKind.ANSWER, text="how much is it? call 07700 900123")
        ask(store, ReplyKind.CLARIFY, text="treatment?")
        ask(store, ReplyKind.SAFETY, text="I'm pregnant, mail me at jo@example.com")
        ask(store, ReplyKind.FALLBACK, text="do you take groupon? jo@example.com +44 7700 900123")
        ask(store, ReplyKind.FALLBACK, text="   ")
        assert store.unanswered() == ["do you take groupon? [email] [phone]"]
    texts = [row[0] for row in rows_of(database, "SELECT text FROM events ORDER BY id")]
    assert texts == [None, None, None, "do you take groupon? [email] [phone]", None]


def test_user_ids_are_never_stored_in_clear(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    user_id = 987654321
    with EventStore(path, salt="pepper") as store:
        event = ask(store, ReplyKind.FALLBACK, user_id=user_id, text="hi")
        store.save_handoff(staff_chat_id=-100, staff_message_id=5, user_chat_id=1, user_id=user_id)
        assert store.set_feedback(event, user_id, helpful=True) is Vote.SAVED
        expected = hmac.new(b"pepper", str(user_id).encode(), hashlib.sha256).hexdigest()[:32]
        assert store.user_hash(user_id) == expected
    with closing(sqlite3.connect(path)) as db:
        dump = "\n".join(db.iterdump())
    assert str(user_id) not in dump
    assert expected in dump


def test_user_hash_depends_on_the_salt() -> None:
    with EventStore.in_memory(salt="a") as first, EventStore.in_memory(salt="b") as second:
        assert first.user_hash(42) == first.user_hash(42)
        assert first.user_hash(42) != second.user_hash(42)
        assert first.user_hash(42) != first.user_hash(43)
        assert len(first.user_hash(42)) == 32


def test_forget_user_removes_exactly_that_users_rows(store: EventStore) -> None:
    for _ in range(3):
        ask(store, user_id=7)
    ask(store, ReplyKind.FALLBACK, user_id=7, text="secret question")
    ask(store, user_id=8)
    ask(store, user_id=None)
    store.save_handoff(staff_chat_id=-1, staff_message_id=10, user_chat_id=7, user_id=7)
    store.save_handoff(staff_chat_id=-1, staff_message_id=11, user_chat_id=8, user_id=8)
    store.save_user_state(7, b"waiting for a question")
    store.save_user_state(8, b"waiting too")

    assert store.forget_user(7) == 6
    assert store.stats(7).questions == 2
    assert store.unanswered() == []
    assert store.handoff_chat(-1, 10) is None
    assert store.handoff_chat(-1, 11) == 8
    assert store.user_states() == {8: b"waiting too"}
    assert store.forget_user(7) == 0


def test_purge_deletes_old_texts_and_handoffs_but_keeps_counts(
    database: Database, clock: FakeClock
) -> None:
    with EventStore(database, salt="s", clock=clock) as store:
        assert store.retention_days == 90
        clock.set_days_ago(91)
        ask(store, ReplyKind.FALLBACK, text="old question")
        store.save_handoff(staff_chat_id=-1, staff_message_id=1, user_chat_id=5, user_id=5)
        clock.set_days_ago(89)
        ask(store, ReplyKind.FALLBACK, text="recent question")
        store.save_handoff(staff_chat_id=-1, staff_message_id=2, user_chat_id=6, user_id=6)
        clock.set_days_ago(0)

        assert store.unanswered(days=120) == ["recent question", "old question"]
        assert store.purge_expired() == 2
        assert store.unanswered(days=120) == ["recent question"]
        assert store.stats(120).fallbacks == 2  # the anonymous count stays
        assert store.handoff_chat(-1, 1) is None
        assert store.handoff_chat(-1, 2) == 6
        assert store.purge_expired() == 0


def test_opening_the_database_purges_what_expired_while_the_bot_was_off(
    database: Database, clock: FakeClock
) -> None:
    clock.set_days_ago(40)
    with EventStore(database, salt="s", retention_days=30, clock=clock) as store:
        ask(store, ReplyKind.FALLBACK, text="asked long ago")
    clock.set_days_ago(0)
    with EventStore(database, salt="s", retention_days=30, clock=clock) as store:
        assert store.unanswered(days=60) == []
        assert store.stats(60).fallbacks == 1


# -- feedback ------------------------------------------------------------------------------


def test_feedback_counts_only_the_asking_users_first_vote(store: EventStore) -> None:
    first = ask(store, user_id=1)
    second = ask(store, user_id=2)
    ask(store, user_id=3)

    assert store.set_feedback(first, user_id=2, helpful=False) is Vote.UNKNOWN  # not theirs
    assert store.set_feedback(9999, user_id=1, helpful=True) is Vote.UNKNOWN  # no such event
    assert store.set_feedback(first, user_id=1, helpful=False) is Vote.SAVED
    # A double tap before the buttons go: the first vote stands, the second is not counted.
    assert store.set_feedback(first, user_id=1, helpful=True) is Vote.ALREADY
    assert store.set_feedback(second, user_id=2, helpful=False) is Vote.SAVED

    stats = store.stats(7)
    assert (stats.helpful_yes, stats.helpful_no) == (0, 2)  # the double tap did not count
    assert stats.helpful_rate == pytest.approx(0.0)


# -- staff handoff -------------------------------------------------------------------------


def test_handoff_mapping_survives_closing_and_reopening(database: Database) -> None:
    supergroup = -1001234567890  # Telegram's chat ids need 64 bits
    with EventStore(database, salt="s") as store:
        store.save_handoff(staff_chat_id=-1001, staff_message_id=42, user_chat_id=555, user_id=555)
        store.save_handoff(staff_chat_id=-1001, staff_message_id=43, user_chat_id=777, user_id=777)
        store.save_handoff(
            staff_chat_id=supergroup, staff_message_id=1, user_chat_id=7_000_000_001, user_id=1
        )
    with EventStore(database, salt="s") as reopened:
        assert reopened.handoff_chat(supergroup, 1) == 7_000_000_001
        assert reopened.handoff_chat(-1001, 42) == 555
        assert reopened.handoff_chat(-1001, 43) == 777
        assert reopened.handoff_chat(-1001, 44) is None
        assert reopened.handoff_chat(-2002, 42) is None


# -- channel posts -------------------------------------------------------------------------


def test_post_tags_are_known_before_publishing_and_posts_list_newest_first(
    store: EventStore, clock: FakeClock
) -> None:
    assert store.next_post_tag() == "post1"
    clock.set_days_ago(3)
    first = store.record_post(
        intent_id="pricing", channel="@clinic", message_id=10, tag=store.next_post_tag()
    )
    assert store.next_post_tag() == "post2"
    clock.set_days_ago(0)
    second = store.record_post(
        intent_id="does_it_hurt", channel="@clinic", message_id=11, tag=store.next_post_tag()
    )
    assert (first.id, first.tag, second.tag) == (1, "post1", "post2")
    assert first.published_at == NOW - timedelta(days=3)
    assert store.posts() == [second, first]
    assert store.posts(limit=1) == [second]


def test_post_visits_count_deep_links_with_the_posts_tag_in_the_window(
    store: EventStore, clock: FakeClock
) -> None:
    pricing = store.record_post(intent_id="pricing", channel="@c", message_id=1, tag="post1")
    hurt = store.record_post(intent_id="does_it_hurt", channel="@c", message_id=2, tag="post2")
    clock.set_days_ago(20)
    ask(store, source=Source.DEEP_LINK, tag="post2")  # only in the 30-day window
    clock.set_days_ago(0)
    for _ in range(3):
        ask(store, source=Source.DEEP_LINK, tag="post1")
    ask(store, ReplyKind.SMALLTALK, source=Source.DEEP_LINK, tag="post1")  # a visit too
    ask(store, source=Source.DEEP_LINK, tag="inline")
    ask(store, source=Source.PRIVATE, tag="post1")  # not a deep link

    assert store.stats(7).post_visits == [(pricing, 4), (hurt, 0)]
    assert store.stats(30).post_visits == [(pricing, 4), (hurt, 1)]


# -- the database file ---------------------------------------------------------------------


def test_database_file_uses_wal_and_reports_its_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    with EventStore(path, salt="s") as store:
        assert store.schema_version == SCHEMA_VERSION
        with closing(sqlite3.connect(path)) as other:
            assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert other.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


# The schema as the first release created it (version 1): events and handoffs, no posts.
VERSION_1 = [
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, user_hash TEXT,
        chat_type TEXT NOT NULL, source TEXT NOT NULL, tag TEXT, intent TEXT,
        score REAL NOT NULL, decision TEXT NOT NULL,
        feedback INTEGER CHECK (feedback IN (0, 1)), text TEXT)""",
    "CREATE INDEX events_by_time ON events (time)",
    "CREATE INDEX events_by_user ON events (user_hash)",
    """CREATE TABLE handoffs (
        staff_chat_id INTEGER NOT NULL, staff_message_id INTEGER NOT NULL,
        user_chat_id INTEGER NOT NULL, user_hash TEXT NOT NULL, created_at TEXT NOT NULL,
        PRIMARY KEY (staff_chat_id, staff_message_id))""",
    "CREATE INDEX handoffs_by_user ON handoffs (user_hash)",
    "PRAGMA user_version = 1",
]


def test_an_old_database_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with closing(sqlite3.connect(path)) as db, db:
        for statement in VERSION_1:
            db.execute(statement)
        db.execute(
            "INSERT INTO events (time, user_hash, chat_type, source, tag, intent, score,"
            " decision) VALUES (?, 'h', 'private', 'deep_link', 'post1', 'pricing', 90,"
            " 'answer')",
            (NOW.isoformat(timespec="microseconds"),),
        )

    with EventStore(path, salt="s", clock=FakeClock()) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.stats(7).top_intents == [("pricing", 1)]
        post = store.record_post(intent_id="pricing", channel="@c", message_id=3, tag="post1")
        assert store.stats(7).post_visits == [(post, 1)]  # the old visit counts for it
    with EventStore(path, salt="s") as reopened:  # migrating again is a no-op
        assert reopened.posts() == [post]


def test_a_version_7_database_keeps_its_lessons_and_one_of_each_to_do(tmp_path: Path) -> None:
    """Step 7 makes lessons and to-dos unique; a to-do listed twice before is kept once."""
    path = tmp_path / "v7.sqlite3"
    with closing(sqlite3.connect(path)) as db, db:
        for step in range(7):
            for statement in statements(step, "sqlite"):
                db.execute(statement)
        db.execute("PRAGMA user_version = 7")
        db.execute(
            "INSERT INTO learned (text, intent, added_by, added_at) VALUES "
            "('can i park', 'location_hours', 'h', ?)",
            (NOW.isoformat(),),
        )
        for _ in range(2):
            db.execute(
                "INSERT INTO todo (examples, asked, added_at) VALUES ('gift wrap?', 2, ?)",
                (NOW.isoformat(),),
            )

    with EventStore(path, salt="s") as store:
        assert [lesson.text for lesson in store.learned()] == ["can i park"]
        assert store.todos() == [(["gift wrap?"], 2)]
        assert not store.add_todo(["gift wrap?"], 3)
        _, added = store.add_learned("Can I park?", "location_hours", "can i park", 1)
        assert added  # the old lesson has no key; the matcher skips the repeat


def test_a_database_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE something_new (x)")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")

    with pytest.raises(SchemaVersionError, match=rf"version {SCHEMA_VERSION + 1} is newer"):
        EventStore(path, salt="s")
    assert raw_rows(path, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]
    assert raw_rows(path, "SELECT name FROM sqlite_master WHERE name = 'events'") == []


def test_a_failing_migration_leaves_the_database_at_its_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.sqlite3"
    with closing(sqlite3.connect(path)) as db, db:
        for statement in VERSION_1:
            db.execute(statement)
    broken = (*schema_module.MIGRATIONS[:1], ("CREATE TABLE posts (id)", "NOT SQL"))
    monkeypatch.setattr(schema_module, "MIGRATIONS", broken)
    with pytest.raises(OperationalError):
        EventStore(path, salt="s")
    assert raw_rows(path, "PRAGMA user_version") == [(1,)]
    assert raw_rows(path, "SELECT name FROM sqlite_master WHERE name = 'posts'") == []


def test_database_files_are_private_and_deletion_overwrites(tmp_path: Path) -> None:
    """Unanswered questions and chat ids: readable by the bot's user only; /forget overwrites."""
    path = tmp_path / "private" / "bot.sqlite3"
    with EventStore(path, salt="s") as store:
        ask(store, user_id=1)
        with store._read() as db:
            assert db.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    assert path.parent.stat().st_mode & 0o777 == 0o700
    for file in path.parent.iterdir():
        assert file.stat().st_mode & 0o777 == 0o600, file.name


def test_simultaneous_first_opens_all_succeed(database: Database) -> None:
    """Several workers starting at once on a new database: each migration step runs once,
    and the first one's salt check is kept."""
    import subprocess
    import sys

    url = database.url.render_as_string(hide_password=False)
    code = (
        "import sys; from bot.analytics.database_url import Database\n"
        "from bot.analytics.store import EventStore\n"
        "with EventStore(Database.parse(sys.argv[1]), salt='s') as store:\n"
        "    store.verify_salt(); print(store.schema_version)"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    results = [p.communicate(timeout=60) for p in processes]
    assert [p.returncode for p in processes] == [0] * 6, results
    assert {out.strip() for out, _ in results} == {str(SCHEMA_VERSION)}


def test_tables_without_a_recorded_version_are_adopted(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    with EventStore(path, salt="s") as store:
        ask(store, user_id=1)
        store._pragma("user_version = 0")  # a step whose version was never written
    with EventStore(path, salt="s") as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.stats(7).answered == 1  # nothing lost


def test_inbox_keeps_updates_until_handled_and_remembers_them(database: Database) -> None:
    now = [NOW]
    gone = timedelta(0)  # every other worker counts as stopped
    with EventStore(database, salt="s", clock=lambda: now[0]) as store:
        store.inbox_receive([(1, '{"update_id": 1}', 7), (2, '{"update_id": 2}', 7)], "old")
        store.inbox_receive([(2, '{"update_id": 2}', 7)], "old")  # fetched again: kept once
        store.inbox_done(1)
        assert store.inbox_take_over("new", gone) == ['{"update_id": 2}']
        assert store.inbox_check(1, None) == Arrival(True, False, None)
        assert store.inbox_check(2, None) == Arrival(False, False, None)
        body = rows_of(database, "SELECT body FROM inbox WHERE update_id = 1")
        assert body == [(None,)]  # the patient's words go as soon as the update is handled
        store.inbox_done(3)  # a webhook update, never fetched: remembered too
        assert store.inbox_check(3, None).handled
        now[0] = NOW + timedelta(days=3)
        store.purge_expired()
        assert not store.inbox_check(1, None).handled and not store.inbox_check(2, None).handled


def test_a_stopped_workers_updates_are_taken_over_once(database: Database) -> None:
    """A live worker's updates stay its own; a silent one's go to the first who asks."""
    now = [NOW]
    silence = timedelta(seconds=20)
    with EventStore(database, salt="s", clock=lambda: now[0]) as store:
        store.worker_alive("a")
        store.worker_alive("b")
        store.inbox_receive([(1, '{"update_id": 1}', 7), (3, '{"update_id": 3}', 7)], "a")
        store.inbox_receive([(2, '{"update_id": 2}', 8)], "b")
        assert store.inbox_earlier_unhandled(7, 3) and not store.inbox_earlier_unhandled(7, 1)
        assert not store.inbox_earlier_unhandled(8, 2)  # chat 7's do not count
        # On arrival, one read answers both questions.
        assert store.inbox_check(3, 7) == Arrival(False, True, None)
        assert store.inbox_check(3, None) == Arrival(False, False, None)  # one worker
        store.save_user_state(5, b"state")
        assert store.inbox_check(3, 7, 5).user_state == b"state"  # read in the same look
        assert store.inbox_take_over("b", silence) == []  # a is alive
        now[0] = NOW + timedelta(seconds=30)
        store.worker_alive("b")  # a fell silent
        assert store.inbox_take_over("b", silence) == ['{"update_id": 1}', '{"update_id": 3}']
        assert store.inbox_take_over("c", silence) == []  # b is alive: nothing to take
        assert rows_of(database, "SELECT worker FROM inbox ORDER BY update_id") == [
            ("b",),
            ("b",),
            ("b",),
        ]


def test_a_phrasing_taught_twice_at_once_is_kept_once(database: Database) -> None:
    """Two admins checked the phrasing before either kept it: the store's unique key decides."""
    key = "is the clinic dog friendly"
    with EventStore(database, "s") as store:
        first, added = store.add_learned("is the clinic dog friendly", "location_hours", key, 1)
        again, added_again = store.add_learned(
            "Is the clinic dog-friendly?", "out_of_scope", key, 2
        )
        assert added and not added_again and again == first
        assert store.learned() == [first]
        assert store.forget_learned(first.id) == first
        assert store.forget_learned(first.id) is None
        assert store.add_todo(["gift wrap?"], 2) and not store.add_todo(["gift wrap?"], 3)
        assert store.todos() == [(["gift wrap?"], 2)]


def test_conversation_state_is_kept_replaced_and_deleted(database: Database) -> None:
    with EventStore(database, "s") as store:
        store.save_user_state(8_000_000_001, b"\x00state")
        store.save_user_state(8_000_000_001, b"\x00newer")
        store.save_user_state(2, b"other")
        store.save_user_state(2, None)
        assert store.user_states() == {8_000_000_001: b"\x00newer"}


def test_the_salt_check_is_kept_and_adopted(database: Database) -> None:
    with EventStore(database, "first") as store:
        store.verify_salt()
        store.verify_salt()
    with EventStore(database, "second") as store, pytest.raises(SaltMismatchError):
        store.verify_salt()
    with EventStore(database, "second") as store:
        store.adopt_salt()
        store.verify_salt()


def test_an_updates_event_is_recorded_once_however_often_it_is_handled(store: EventStore) -> None:
    event_id = store.new_event_id(update_id=123)
    assert event_id == store.new_event_id(update_id=123) != store.new_event_id(update_id=124)
    assert len(str(event_id)) <= 18  # fits a feedback button's callback data
    for _ in range(2):  # handled, its worker killed, handled again by another
        assert ask(store, event_id=event_id) == event_id
    assert store.stats(7).questions == 1
