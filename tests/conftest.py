"""Shared fixtures: the shipped knowledge base and a tiny content folder to break on purpose."""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.analytics.database_url import Database
from bot.content.checks import REQUIRED_ADMIN_COMMANDS, REQUIRED_COMMANDS, REQUIRED_MESSAGES
from bot.content.knowledge import Knowledge
from bot.content.loader import load_knowledge
from bot.content.messages import MESSAGES
from bot.engine import DialogueEngine
from bot.nlu.classifier import CACHE_VARIABLE
from bot.paths import default_content_dir
from tests.support.postgres import PostgresServer, PostgresUnavailableError, postgres_server

_WRITTEN_OUT = ("welcome", "fallback", "clarify", "safety", "book")


def _filled_in(key: str) -> str:
    """The runtime placeholders a message must show, e.g. " {count}" for forget_done."""
    return "".join(f" {{{name}}}" for name in sorted(MESSAGES[key]))


TINY_CONTENT = {
    "clinic.yaml": """
        clinic:
          name: Test Clinic
          phone: "555-0100"
          booking_url: https://example.org/book
          opening_hours: {monday: "09:00-17:00", tuesday: "09:00-17:00"}
        prices:
          first_session: "£90"
        matching:
          answer_threshold: 60
          clarify_threshold: 50
        """,
    "intents/topics.yaml": """
        intents:
          - id: does_it_hurt
            category: Safety
            examples:
              - does it hurt
              - is it painful
          - id: pricing
            category: Your visit
            examples:
              - how much is a session
              - price
          - id: greeting
            kind: smalltalk
            examples:
              - hello
        synonyms:
          hurt: [painful, sore]
        safety:
          patterns:
            - '\\bpregnan\\w*'
        out_of_scope:
          - does a tattoo hurt
        """,
    "responses/topics.yaml": """
        responses:
          does_it_hurt:
            title: Does it hurt?
            answer: <b>Most people feel very little.</b>
            follow_ups: [pricing]
          pricing:
            title: Prices
            answer: A first session costs {prices.first_session}. Call {clinic.phone}.
            follow_ups: [does_it_hurt]
          greeting:
            title: Hello
            answer: Hello! Ask me anything.
            follow_ups: []
        """,
    "responses/messages.yaml": "\n".join(
        [
            "messages:",
            "  welcome: Welcome to {clinic.name}!",
            "  fallback: Sorry, I don't know that one. Call {clinic.phone}.",
            "  clarify: Did you mean one of these?",
            "  safety: Please talk to a practitioner first.",
            "  book: Book at {clinic.booking_url}",
            *(
                f"  {key}: Text of {key}{_filled_in(key)}."
                for key in REQUIRED_MESSAGES
                if key not in _WRITTEN_OUT
            ),
            "popular_topics: [does_it_hurt, pricing]",
            "commands:",
            *(f"  {name}: {name.title()}" for name in REQUIRED_COMMANDS),
            "admin_commands:",
            *(f"  {name}: {name.title()}" for name in REQUIRED_ADMIN_COMMANDS),
        ]
    ),
}


def write_content(root: Path, files: dict[str, str]) -> Path:
    """Write a content folder from {relative path: YAML text}."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


def copy_shipped_content(destination: Path) -> Path:
    """A copy of the shipped content (settings, intents, responses) to modify in a test."""
    source = default_content_dir()
    destination.mkdir(parents=True)
    shutil.copy(source / "clinic.yaml", destination / "clinic.yaml")
    for folder in ("intents", "responses"):
        shutil.copytree(source / folder, destination / folder)
    return destination


@pytest.fixture
def tiny_content(tmp_path: Path) -> Path:
    """A small valid content folder in a temporary directory."""
    return write_content(tmp_path / "content", TINY_CONTENT)


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Trained models go to a folder of this test run, never the user's cache; subprocesses
    (the CLI and end-to-end tests) inherit it through the environment."""
    folder = tmp_path_factory.mktemp("model-cache")
    previous = os.environ.get(CACHE_VARIABLE)
    os.environ[CACHE_VARIABLE] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop(CACHE_VARIABLE, None)
    else:
        os.environ[CACHE_VARIABLE] = previous


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    """The shipped knowledge base, loaded once."""
    return load_knowledge(default_content_dir())


@pytest.fixture(scope="session")
def engine(knowledge: Knowledge) -> DialogueEngine:
    """The dialogue engine over the shipped content."""
    return DialogueEngine(knowledge)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole run (see tests/support/postgres.py)."""
    try:
        with postgres_server() as server:
            yield server
    except PostgresUnavailableError as exc:
        if os.environ.get("REQUIRE_POSTGRESQL") == "1":
            pytest.fail(f"PostgreSQL is required here: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A new, empty database of each kind the store supports: a SQLite file, and a database
    of its own on the test PostgreSQL server."""
    if request.param == "sqlite":
        yield Database.sqlite(tmp_path / "bot.sqlite3")
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    created = server.new_database()
    yield created
    server.drop(created)
