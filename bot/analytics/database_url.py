"""Where the analytics database is: ``DATABASE_URL``, a SQLite file or a PostgreSQL server.

``sqlite:///data/bot.sqlite3`` (a relative path), ``sqlite:////srv/bot.sqlite3`` (absolute) or
``postgresql://user:password@host:5432/name`` (``postgres://``, as some platforms write it,
means the same). Anything else is refused with the URL named, its password hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

MEMORY = ":memory:"
POSTGRESQL_DRIVER = "postgresql+psycopg"  # psycopg 3
_POSTGRESQL_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
_EXAMPLES = "sqlite:///path/to/bot.sqlite3 or postgresql://user:password@host:5432/name"


class DatabaseUrlError(ValueError):
    """DATABASE_URL cannot be used; the message names it (password hidden) and why."""


@dataclass(frozen=True)
class Database:
    """A database the store can open."""

    url: URL  # for SQLAlchemy, with the driver chosen
    dialect: Literal["sqlite", "postgresql"]

    @classmethod
    def sqlite(cls, path: Path) -> Database:
        """A SQLite file (``MEMORY`` for a throwaway database in memory)."""
        return cls(URL.create("sqlite", database=str(path)), "sqlite")

    @classmethod
    def parse(cls, text: str) -> Database:
        """``DATABASE_URL``'s value; DatabaseUrlError names what is wrong with it."""
        try:
            url = make_url(text.strip())
        except ArgumentError:
            raise DatabaseUrlError(
                f"DATABASE_URL {_masked(text)!r} is not a database URL; use {_EXAMPLES}"
            ) from None
        if url.drivername == "sqlite":
            if not url.database:
                raise DatabaseUrlError(
                    f"DATABASE_URL {_masked(text)!r} names no file; use {_EXAMPLES}"
                )
            return cls.sqlite(Path(url.database))
        if url.drivername in _POSTGRESQL_SCHEMES:
            if not url.database:
                raise DatabaseUrlError(
                    f"DATABASE_URL {_masked(text)!r} names no database; use {_EXAMPLES}"
                )
            return cls(url.set(drivername=POSTGRESQL_DRIVER), "postgresql")
        raise DatabaseUrlError(
            f"DATABASE_URL {_masked(text)!r}: {url.drivername!r} databases are not supported; "
            f"use {_EXAMPLES}"
        )

    @property
    def path(self) -> Path | None:
        """The SQLite file (None for PostgreSQL and for a database in memory)."""
        if self.dialect != "sqlite" or self.url.database in (None, MEMORY):
            return None
        return Path(str(self.url.database))

    def __str__(self) -> str:
        """For messages: the file, or the URL with its password hidden."""
        if self.dialect == "sqlite":
            return str(self.url.database)
        return self.url.set(drivername="postgresql").render_as_string(hide_password=True)


def _masked(text: str) -> str:
    """``text`` with a password (between "user:" and "@") hidden, even when it does not parse."""
    text = text.strip()
    scheme, separator, rest = text.rpartition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return text
    user = credentials.split(":", 1)[0]
    return f"{scheme}{separator}{user}:***@{host}"
