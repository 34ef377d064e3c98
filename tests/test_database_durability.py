"""The database survives the bot being killed mid-write: every committed event is still there."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from contextlib import closing
from pathlib import Path

from bot.analytics.store import EventStore
from tests.support.events import record_event

ROOT = Path(__file__).resolve().parent.parent
WANTED = 200

# Records events as fast as it can, printing each id only after record() returned (committed).
WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from bot.analytics.store import EventStore
    from bot.analytics.records import Source
    from bot.engine import ReplyKind

    store = EventStore(Path(sys.argv[1]), salt="durability")
    user = 0
    while True:
        user += 1
        event_id = store.record(
            user_id=user,
            chat_type="private",
            source=Source.PRIVATE,
            decision=ReplyKind.FALLBACK,
            intent_id=None,
            score=12.5,
            text=f"question number {user} " + "padding " * 50,
        )
        print(event_id, flush=True)
    """
)


def test_every_committed_event_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "analytics.sqlite3"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # If the writer hangs instead of printing, kill it so the test fails instead of hanging.
    watchdog = threading.Timer(30, writer.kill)
    watchdog.start()
    try:
        assert writer.stdout is not None
        committed: list[int] = []
        while len(committed) < WANTED:
            line = writer.stdout.readline()
            assert line, f"writer stopped early: {writer.communicate()[1]}"
            committed.append(int(line))
        writer.send_signal(signal.SIGKILL)  # mid-loop, most likely inside a transaction
        rest, _ = writer.communicate()
    finally:
        watchdog.cancel()
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert writer.returncode == -signal.SIGKILL
    # Ids the writer printed before it died were committed too; a cut-off line was not printed.
    committed += [int(line) for line in rest.splitlines(keepends=True) if line.endswith("\n")]

    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = {row[0] for row in db.execute("SELECT id FROM events")}
    assert set(committed) <= stored
    assert committed == sorted(committed) and len(set(committed)) == len(committed)

    with EventStore(path, salt="durability") as store:  # the bot starts again normally
        assert len(store.unanswered()) == len(stored)
        record_event(store, score=90.0)
        assert store.stats(1).questions == len(stored) + 1
