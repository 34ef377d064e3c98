"""A real PostgreSQL server for the tests, and a fresh database in it for each test.

``TEST_POSTGRESQL_URL`` (a server someone else started; the tests create and drop their
databases in it) when set; else a throwaway cluster made with the machine's ``initdb`` in a
temporary directory, listening on 127.0.0.1 and a free port, run by an unprivileged user
when the tests run as root (PostgreSQL refuses root), and stopped at the end.

Without PostgreSQL installed, its tests are skipped, unless ``REQUIRE_POSTGRESQL=1`` (CI)
makes that a failure.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql

from bot.analytics.database_url import Database

_UNPRIVILEGED = "nobody"
_numbers = itertools.count(1)


class PostgresUnavailableError(RuntimeError):
    """No server could be used or started; the message says why."""


def postgres_bin() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, or Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return versions[0].parent if versions else None


class PostgresServer:
    """A server to make test databases in (``admin_url`` reaches its ``postgres`` database);
    ``cluster`` when the tests started it themselves (and may stop and start it)."""

    def __init__(self, admin_url: str, cluster: Cluster | None = None) -> None:
        self.admin_url = admin_url
        self.cluster = cluster

    def new_database(self) -> Database:
        """A new, empty database of its own."""
        name = f"bot_test_{os.getpid()}_{next(_numbers)}"
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = psycopg.conninfo.conninfo_to_dict(self.admin_url) | {"dbname": name}
        return Database.parse(_as_url(url))

    def drop(self, database: Database) -> None:
        name = str(database.url.database)
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _as_url(parts: dict[str, object]) -> str:
    user = parts.get("user", "postgres")
    password = f":{parts['password']}" if parts.get("password") else ""
    host = parts.get("host", "127.0.0.1")
    port = parts.get("port", 5432)
    return f"postgresql://{user}{password}@{host}:{port}/{parts['dbname']}"


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """TEST_POSTGRESQL_URL's server, else a throwaway one (PostgresUnavailableError if
    neither)."""
    given = os.environ.get("TEST_POSTGRESQL_URL", "").strip()
    if given:
        yield PostgresServer(given)
        return
    folder = postgres_bin()
    if folder is None:
        raise PostgresUnavailableError("PostgreSQL is not installed (no initdb found)")
    with tempfile.TemporaryDirectory(prefix="bot-test-pg-") as directory:
        cluster = Cluster(folder, Path(directory))
        cluster.create()
        cluster.start()
        try:
            yield PostgresServer(cluster.admin_url, cluster)
        finally:
            cluster.stop()


class Cluster:
    """A PostgreSQL cluster of the tests' own, in ``directory``, on 127.0.0.1."""

    def __init__(self, folder: Path, directory: Path) -> None:
        self.folder, self.directory = folder, directory
        self.data = directory / "data"
        self.port = _free_port()
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            self._as_user = ["runuser", "-u", _UNPRIVILEGED, "--"]
            shutil.chown(directory, _UNPRIVILEGED)
        directory.chmod(0o700)

    def create(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        # Durability is not under test here: fsync off makes the server fast to use and stop.
        options = f"-h 127.0.0.1 -p {self.port} -k {self.directory} -F -c max_connections=200"
        log = str(self.directory / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(
            [*self._as_user, str(self.folder / program), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise PostgresUnavailableError(f"{program} failed: {done.stderr or done.stdout}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
