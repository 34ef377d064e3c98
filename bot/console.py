"""A chat in the terminal on the same engine as the Telegram bot, so anyone can try it."""

from __future__ import annotations

import re
import shutil
import sys
import textwrap
from collections.abc import Iterable
from typing import TextIO

from bot.content.html_text import plain_text
from bot.engine import DialogueEngine, Reply, ReplyKind

# ANSI escape codes, used only on an interactive terminal (never in piped output).
_BOLD_ON = "\033[1m"
_BOLD_OFF = "\033[0m"

_QUIT_WORDS = frozenset({"quit", "exit", "/quit", "/exit"})
_NONE_OF_THESE = "none_of_these"


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


def chat(engine: DialogueEngine, lines: Iterable[str], out: TextIO, interactive: bool) -> None:
    """Answer each input line; a number picks one of the previous reply's suggestions."""
    none_label = engine.knowledge.message("none_of_these")
    text, choices = render_reply(engine.welcome(), none_label, terminal=interactive)
    out.write(text + "\n")
    if interactive:
        out.write("\n(type a question, a number to pick a suggestion, or 'quit')\n")
    for raw in _with_prompt(lines, out) if interactive else lines:
        message = raw.strip()
        if not message:
            continue
        if message.lower() in _QUIT_WORDS:
            break
        if message.isdigit() and 1 <= int(message) <= len(choices):
            picked = choices[int(message) - 1]
            reply = engine.answer(picked) if picked else engine.fallback()
        else:
            reply = engine.respond(message)
        text, choices = render_reply(reply, none_label, terminal=interactive)
        out.write(f"\n{text}\n")
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
