"""Check text against Telegram's HTML subset and measure it the way Telegram does.

Telegram rejects a whole message when its HTML does not parse, so content is checked at load
time instead of failing in front of a patient.
"""

from __future__ import annotations

import html
import re

# Tags Telegram accepts with parse_mode=HTML, and the attributes each may carry.
ALLOWED_TAGS: dict[str, frozenset[str]] = {
    "b": frozenset(),
    "strong": frozenset(),
    "i": frozenset(),
    "em": frozenset(),
    "u": frozenset(),
    "ins": frozenset(),
    "s": frozenset(),
    "strike": frozenset(),
    "del": frozenset(),
    "tg-spoiler": frozenset(),
    "span": frozenset({"class"}),
    "a": frozenset({"href"}),
    "code": frozenset({"class"}),
    "pre": frozenset(),
    "blockquote": frozenset({"expandable"}),
    "tg-emoji": frozenset({"emoji-id"}),
}
MAX_MESSAGE_LENGTH = 4096

_TOKEN = re.compile(
    r"<(/?)([a-zA-Z][\w-]*)((?:\s+[^<>]*?)?)\s*(/?)>|<|&(#\d+|#x[0-9a-fA-F]+|\w+);|&"
)
_ATTRIBUTE = re.compile(r"""\s*([\w-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_ENTITIES = frozenset({"lt", "gt", "amp", "quot"})


def html_problems(text: str) -> list[str]:
    """Every reason Telegram would refuse ``text`` as HTML; empty when it is fine."""
    problems: list[str] = []
    open_tags: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token == "<":
            problems.append("a bare '<' must be written &lt;")
        elif token == "&":
            problems.append("a bare '&' must be written &amp;")
        elif token.startswith("&"):
            entity = match.group(5)
            if not entity.startswith("#") and entity not in _ENTITIES:
                problems.append(f"unsupported entity {token}")
        else:
            problems.extend(_tag_problems(match, open_tags))
    problems.extend(f"<{tag}> is never closed" for tag in reversed(open_tags))
    return problems


def _tag_problems(match: re.Match[str], open_tags: list[str]) -> list[str]:
    closing, name, attributes, self_closing = match.group(1, 2, 3, 4)
    name = name.lower()
    if name not in ALLOWED_TAGS:
        return [f"tag <{name}> is not supported by Telegram"]
    if self_closing:
        return [f"tag <{name}/> cannot be self-closing"]
    if closing:
        if not open_tags or open_tags[-1] != name:
            return [f"closing </{name}> does not match an open tag"]
        open_tags.pop()
        return []
    open_tags.append(name)
    problems = []
    for attr in _ATTRIBUTE.finditer(attributes or ""):
        attr_name = attr.group(1).lower()
        if attr_name not in ALLOWED_TAGS[name]:
            problems.append(f"attribute {attr_name!r} is not allowed on <{name}>")
        elif name == "a" and not re.match(r"(https?|tg)://", attr.group(2) or attr.group(3) or ""):
            problems.append("a link must start with http://, https:// or tg://")
    return problems


def plain_text(text: str) -> str:
    """What the reader sees: tags removed and entities decoded."""
    return html.unescape(re.sub(r"<[^<>]+>", "", text))


def visible_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units of the visible text."""
    return len(plain_text(text).encode("utf-16-le")) // 2


def split_message(text: str, limit: int = MAX_MESSAGE_LENGTH) -> list[str]:
    """Split HTML text at paragraph (then line) boundaries into parts Telegram accepts.

    Content is checked to fit at load time; this guards dynamic text (e.g. a long question
    shown back). A single line longer than the limit is cut hard as plain text.
    """
    if visible_length(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for block in _blocks(text, limit):
        candidate = f"{current}\n\n{block}" if current else block
        if visible_length(candidate) <= limit:
            current = candidate
        else:
            if current:
                parts.append(current)
            current = block
    if current:
        parts.append(current)
    return parts


def _blocks(text: str, limit: int) -> list[str]:
    blocks: list[str] = []
    for paragraph in text.split("\n\n"):
        if visible_length(paragraph) <= limit:
            blocks.append(paragraph)
            continue
        for line in paragraph.split("\n"):
            if visible_length(line) <= limit:
                blocks.append(line)
            else:
                # No boundary left to respect: fall back to escaped plain text in chunks.
                visible = plain_text(line)
                chunk = limit - 10
                blocks.extend(
                    html.escape(visible[i : i + chunk]) for i in range(0, len(visible), chunk)
                )
    return blocks
