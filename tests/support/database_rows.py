"""What a database holds, read past the store (SQLite or PostgreSQL alike)."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from bot.analytics.database_url import Database


def rows_of(database: Database, statement: str) -> list[tuple[object, ...]]:
    """The rows ``statement`` selects, on a connection of its own."""
    engine = create_engine(database.url)
    try:
        with engine.connect() as db:
            return [tuple(row) for row in db.execute(text(statement))]
    finally:
        engine.dispose()
