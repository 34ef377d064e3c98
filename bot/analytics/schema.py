"""The analytics database's schema, as the steps that build it.

The version is kept in SQLite's ``PRAGMA user_version``; ``EventStore`` applies each missing
step in a transaction of its own when it opens a database, so a database from any older
version is brought up to date and a half-applied step never exists.
"""

from __future__ import annotations

# Each step moves the schema from version N to N + 1 (its position in the list + 1). Never
# edit a released step: add a new one, so existing databases follow the same path.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE IF NOT EXISTS events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time TEXT NOT NULL,
            user_hash TEXT,
            chat_type TEXT NOT NULL,
            source TEXT NOT NULL,
            tag TEXT,
            intent TEXT,
            score REAL NOT NULL,
            decision TEXT NOT NULL,
            feedback INTEGER CHECK (feedback IN (0, 1)),
            text TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS events_by_time ON events (time)",
        "CREATE INDEX IF NOT EXISTS events_by_user ON events (user_hash)",
        """CREATE TABLE IF NOT EXISTS handoffs (
            staff_chat_id INTEGER NOT NULL,
            staff_message_id INTEGER NOT NULL,
            user_chat_id INTEGER NOT NULL,
            user_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (staff_chat_id, staff_message_id)
        )""",
        "CREATE INDEX IF NOT EXISTS handoffs_by_user ON handoffs (user_hash)",
    ),
    (
        """CREATE TABLE IF NOT EXISTS posts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            intent_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            message_id INTEGER NOT NULL,
            tag TEXT NOT NULL,
            published_at TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS posts_by_tag ON posts (tag)",
        "CREATE INDEX IF NOT EXISTS events_by_tag ON events (tag) WHERE tag IS NOT NULL",
    ),
    # 2: the update inbox. An update is kept from the moment it is fetched until it has been
    # handled, so one fetched but not handled when the process died is handled on restart;
    # handled ids stay (without the update) a little longer, so a repeat is answered once.
    (
        """CREATE TABLE IF NOT EXISTS inbox (
            update_id INTEGER PRIMARY KEY,
            body TEXT,
            received TEXT NOT NULL,
            done INTEGER NOT NULL DEFAULT 0
        )""",
    ),
    # 3: facts about the database itself; first, a check value of the salt its user hashes
    # are made with, so a lost or changed salt is noticed instead of silently orphaning them.
    ("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",),
    # 4: each user's conversation state (waiting for a question for staff, the last
    # unanswered question, what each "did you mean" was about), kept across restarts.
    (
        """CREATE TABLE IF NOT EXISTS user_state (
            user_id INTEGER PRIMARY KEY,
            data BLOB NOT NULL,
            updated TEXT NOT NULL
        )""",
    ),
    # 5: phrasings an admin taught from the unanswered questions (/gaps): an intent id, or
    # out_of_scope for "not ours"; the matcher learns them like the content's examples.
    (
        """CREATE TABLE IF NOT EXISTS learned (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            text TEXT NOT NULL,
            intent TEXT NOT NULL,
            added_by TEXT NOT NULL,
            added_at TEXT NOT NULL
        )""",
    ),
    # 6: groups of unanswered questions an admin put aside to write an answer for (/todo).
    (
        """CREATE TABLE IF NOT EXISTS todo (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            examples TEXT NOT NULL,
            asked INTEGER NOT NULL,
            added_at TEXT NOT NULL
        )""",
    ),
    # 7: nothing taught or put aside twice, even by two admins reviewing the same group at
    # once: a taught phrasing's key (its words, as the matcher compares phrasings) and a
    # to-do's phrasings are unique. Phrasings taught before this step have no key; the
    # matcher skips repeats among them (``with_lessons``).
    (
        "ALTER TABLE learned ADD COLUMN key TEXT",
        "CREATE UNIQUE INDEX IF NOT EXISTS learned_by_key ON learned (key)",
        "DELETE FROM todo WHERE id NOT IN (SELECT MIN(id) FROM todo GROUP BY examples)",
        "CREATE UNIQUE INDEX IF NOT EXISTS todo_by_examples ON todo (examples)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
