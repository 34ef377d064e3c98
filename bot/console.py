"""A chat in the terminal on the same engine as the Telegram bot, so anyone can try it."""

from __future__ import annotations

import html
import re
import shutil
import sys
import textwrap
from collections.abc import Iterable
from typing import TextIO

from bot.content.html_text import plain_text
from bot.content.knowledge import Knowledge
from bot.engine import DialogueEngine, Reply, ReplyKind

# ANSI escape codes, used only on an interactive terminal (never in piped output).
_BOLD_ON = "\033[1m"
_BOLD_OFF = "\033[0m"

_QUIT_WORDS = frozenset({"quit", "exit", "/quit", "/exit"})


def terminal_text(html_text: str, bold: bool) -> str:
    """Telegram HTML as terminal text; <b> becomes bold where the terminal shows it."""
    if bold:
        html_text = re.sub(
            r"</?(b|strong)>", lambda m: _BOLD_OFF if m.group(0)[1] == "/" else _BOLD_ON, html_text
        )
    return plain_text(html_text)


def wrap(text: str, width: int) -> str:
    """Wrap long lines at words; bullet lines keep a hanging indent."""
    wrapped = []
    for line in text.split("\n"):
        indent = "  " if line.startswith("\u2022 ") else ""
        wrapped.append(textwrap.fill(line, width, subsequent_indent=indent) if line else "")
    return "\n".join(wrapped)


def render_reply(
    reply: Reply, none_of_these_label: str, terminal: bool = False
) -> tuple[str, list[str | None]]:
    """Reply as terminal text with numbered suggestions, and what each number picks.

    ``terminal``: bold and wrapped to the window, for a person at an interactive terminal.
    """
    text = terminal_text(reply.text, bold=terminal)
    lines = [wrap(text, shutil.get_terminal_size().columns - 1) if terminal else text]
    choices: list[str | None] = [s.intent_id for s in reply.suggestions]
    labels = [s.label for s in reply.suggestions]
    if reply.kind is ReplyKind.CLARIFY:
        choices.append(None)
        labels.append(none_of_these_label)
    if labels:
        lines.append("")
        lines += [f"  {number}. {label}" for number, label in enumerate(labels, start=1)]
    return "\n".join(lines), choices


# What a number in the terminal picks: a topic to answer, the fallback ("None of these"), or
# a category of the topics menu.
Choice = tuple[str, str | int | None]
_COMMANDS = {"/start", "/help", "/topics", "/human", "/book", "/privacy"}
# Telegram says "tap"; the terminal has numbers instead of buttons (one content for both).
_TAP = re.compile(r"\b([Tt])ap\b")


def terminal_wording(text: str) -> str:
    """The content's Telegram wording as it reads in the terminal: "pick" where it says "tap"."""
    return _TAP.sub(lambda m: "Pick" if m.group(1) == "T" else "pick", text)


class TerminalChat:
    """One conversation: numbers pick from the last reply's choices; a few commands work as
    on Telegram (/help, /topics, /human, /book, /privacy, /start)."""

    def __init__(self, engine: DialogueEngine, terminal: bool) -> None:
        self.engine = engine
        self.terminal = terminal
        self.choices: list[Choice] = []

    @property
    def knowledge(self) -> Knowledge:
        return self.engine.knowledge

    def welcome(self) -> str:
        return self._show(self.engine.welcome())

    def reply_to(self, message: str) -> str:
        """The answer to one line typed (or piped) in."""
        if message.isdigit() and len(message) <= 3:  # a pick, not a question about numbers
            number = int(message)
            if not self.choices:
                return f"There is no option {number} here: type a question, or /topics."
            if not 1 <= number <= len(self.choices):
                return (
                    f"There is no option {number}: pick a number from 1 to "
                    f"{len(self.choices)}, or type a question."
                )
            return self._pick(self.choices[number - 1])
        command = message.split()[0].lower() if message.startswith("/") else None
        if command in _COMMANDS:
            return self._command(command, message)
        return self._show(self.engine.respond(message))

    def _pick(self, choice: Choice) -> str:
        kind, value = choice
        if kind == "category" and isinstance(value, int):
            return self._category(value)
        if kind == "answer" and isinstance(value, str):
            return self._show(self.engine.answer(value))
        return self._show(self.engine.fallback())

    def _command(self, command: str | None, message: str) -> str:
        if command == "/topics":
            return self._menu()
        if command == "/human":
            return self._human()
        if command == "/help":
            return self._help()
        if command == "/start":
            return self.welcome()
        text = self.knowledge.message("book" if command == "/book" else "privacy")
        self.choices = []
        return self._text(text)

    def _menu(self) -> str:
        names = list(self.knowledge.categories())
        self.choices = [("category", index) for index in range(len(names))]
        return self._numbered(self.knowledge.message("topics"), names)

    def _category(self, index: int) -> str:
        categories = list(self.knowledge.categories().items())
        name, intent_ids = categories[index]
        self.choices = [("answer", intent_id) for intent_id in intent_ids]
        labels = [self.knowledge.title(i) for i in intent_ids]
        return self._numbered(f"<b>{html.escape(name, quote=False)}</b>", labels)

    def _human(self) -> str:
        """On Telegram /human passes a question to the team; a terminal cannot, so it says how
        to reach them instead."""
        clinic = self.knowledge.settings.get("clinic") or {}
        ways = [f"\u2022 {label}: {clinic[key]}" for key, label in _CONTACT if clinic.get(key)]
        self.choices = []
        return self._text(
            "<b>In this terminal chat I can't pass your question to the team</b> (on Telegram, "
            "/human does). To talk to a person:\n" + "\n".join(html.escape(w) for w in ways)
        )

    def _help(self) -> str:
        lines = [self.knowledge.message("help"), "", *self.knowledge.topic_overview()]
        lines += ["", "In this chat: /topics, /human, /book, /privacy, /help, and quit to leave."]
        self.choices = []
        return self._text("\n".join(lines))

    def _show(self, reply: Reply) -> str:
        text, picks = render_reply(reply, self.knowledge.message("none_of_these"), self.terminal)
        self.choices = [("answer", p) if p else ("fallback", None) for p in picks]
        return terminal_wording(text)

    def _numbered(self, heading: str, labels: list[str]) -> str:
        lines = [self._text(heading), ""]
        lines += [f"  {number}. {label}" for number, label in enumerate(labels, start=1)]
        return "\n".join(lines)

    def _text(self, html_text: str) -> str:
        text = terminal_text(html_text, bold=self.terminal)
        if self.terminal:
            text = wrap(text, shutil.get_terminal_size().columns - 1)
        return terminal_wording(text)


_CONTACT = (("phone", "Phone"), ("email", "Email"), ("address", "Visit us"))


def chat(engine: DialogueEngine, lines: Iterable[str], out: TextIO, interactive: bool) -> None:
    """Answer each input line; a number picks one of the previous reply's choices. Piped
    input is echoed ("> question") so the output reads as a conversation."""
    session = TerminalChat(engine, terminal=interactive)
    out.write(session.welcome() + "\n")
    if interactive:
        out.write("\n(type a question, a number to pick, /topics, /human, /help or 'quit')\n")
    for raw in _with_prompt(lines, out) if interactive else lines:
        message = raw.strip()
        if not message:
            continue
        if not interactive:
            out.write(f"\n> {message}\n")
        if message.lower() in _QUIT_WORDS:
            break
        out.write(f"\n{session.reply_to(message)}\n")
        out.flush()


def _with_prompt(lines: Iterable[str], out: TextIO) -> Iterable[str]:
    iterator = iter(lines)
    while True:
        out.write("\nyou> ")
        out.flush()
        try:
            yield next(iterator)
        except StopIteration:
            out.write("\n")
            return


def run_console(engine: DialogueEngine) -> None:
    """Chat on stdin/stdout; works interactively and with piped input."""
    try:
        chat(engine, sys.stdin, sys.stdout, interactive=sys.stdin.isatty())
    except KeyboardInterrupt:
        sys.stdout.write("\n")
