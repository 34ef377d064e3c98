"""Text as Telegram measures and parses it: UTF-16 lengths, the HTML parse mode and
automatic entities."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .errors import HtmlParseError
from .limits import JSON

# --------------------------------------------------------------------------------------
# Text utilities: UTF-16 lengths, Telegram's HTML parser, automatic entities
# --------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _byte_offset(text: str, index: int) -> int:
    # Telegram reports HTML errors at UTF-8 byte offsets of the original string.
    return len(text[:index].encode("utf-8", "surrogatepass"))


_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_TAG_ENTITIES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
# tdlib's is_space(); NUL is included there because it scans a C string.
_HTML_SPACES = frozenset(" \t\r\n\v\0")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _decode_html_entity(text: str, pos: int) -> tuple[str | None, int]:
    """Decode the entity at ``text[pos] == "&"`` the way tdlib does.

    Supported: ``&lt; &gt; &amp; &quot;`` and numeric references; the ``;`` is optional.
    Returns ``(None, pos)`` when there is no valid entity there.
    """
    end = pos + 1
    n = len(text)
    if end < n and text[end] == "#":
        end += 1
        value = 0
        digits = 0
        if end < n and text[end] == "x":
            end += 1
            while end < n and text[end] in "0123456789abcdefABCDEF":
                value = value * 16 + int(text[end], 16)
                end += 1
                digits += 1
        else:
            while end < n and text[end] in "0123456789":
                value = value * 10 + int(text[end])
                end += 1
                digits += 1
        if digits == 0 or value == 0 or value >= 0x10FFFF or end - pos >= 10:
            return None, pos
        if 0xD800 <= value <= 0xDFFF:
            raise HtmlParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        char = chr(value)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(text[pos + 1 : end])
        if named is None:
            return None, pos
        char = named
    if end < n and text[end] == ";":
        end += 1
    return char, end


def normalize_url(url: str) -> str | None:
    """Validate a text_link URL like tdlib: None (entity dropped) when it is not a link."""
    candidate = url
    if not candidate or any(char.isspace() for char in candidate):
        return None  # tdlib: "<a>telegram.org </a>" yields no link
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", candidate)
    if match is None:
        if not re.match(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+([:/?#]|$)", candidate):
            return None
        candidate = "http://" + candidate
        match = re.match(r"^(http)://", candidate)
        assert match is not None
    scheme = match.group(1).lower()
    if scheme in ("tg", "ton"):
        return candidate
    if scheme not in ("http", "https", "ftp"):
        return None
    parts = urllib.parse.urlsplit(candidate)
    host = parts.netloc.split(":")[0]
    if not host or ("." not in host and host != "localhost"):
        return None
    # Telegram returns bare-domain links with the root path, e.g. "https://example.com/".
    return str(
        urllib.parse.urlunsplit(
            (scheme, parts.netloc, parts.path or "/", parts.query, parts.fragment)
        )
    )


@dataclass
class _OpenTag:
    tag: str
    argument: str
    utf16_start: int
    out_start: int
    begin: int


def parse_html(
    html: str,
    *,
    strict_ampersand: bool = True,
    known_users: Mapping[int, JSON] | None = None,
) -> tuple[str, list[JSON]]:
    """Parse Telegram-flavoured HTML into ``(plain_text, entities)``.

    A port of the algorithm of tdlib's ``parse_html`` (the code behind the Bot API's
    ``parse_mode=HTML``): same tags, attributes, entity decoding and error messages. Offsets
    and lengths of the returned entities are in UTF-16 code units.
    """
    n = len(html)
    out: list[str] = []
    utf16 = 0
    stack: list[_OpenTag] = []
    entities: list[JSON] = []
    i = 0

    def fail(message: str) -> HtmlParseError:
        return HtmlParseError(message)

    while i < n:
        char = html[i]
        if char == "&":
            decoded, after = _decode_html_entity(html, i)
            if decoded is not None:
                out.append(decoded)
                utf16 += utf16_len(decoded)
                i = after
                continue
            if strict_ampersand:
                raise fail(
                    f'Unescaped "&" at byte offset {_byte_offset(html, i)}: write it as '
                    '"&amp;" (emulator strict mode; Telegram would keep it literally)'
                )
        if char != "<":
            out.append(char)
            utf16 += 2 if ord(char) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        i += 1
        if i >= n or html[i] != "/":
            while i < n and html[i] not in _HTML_SPACES and html[i] != ">":
                i += 1
            if i >= n:
                raise fail(f"Unclosed start tag at byte offset {_byte_offset(html, begin)}")
            tag = html[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise fail(
                    f'Unsupported start tag "{tag}" at byte offset {_byte_offset(html, begin)}'
                )
            attributes, i = _parse_html_attributes(html, i, tag, begin)
            i += 1  # the '>'
            argument = ""
            if tag == "a":
                argument = attributes.get("href", "")
            elif tag == "code":
                language = attributes.get("class", "")
                if language.startswith("language-"):
                    argument = language[len("language-") :]
            elif tag == "span":
                if attributes.get("class") != "tg-spoiler":
                    raise fail(
                        'Tag "span" must have class "tg-spoiler" at byte offset '
                        f"{_byte_offset(html, begin)}"
                    )
            elif tag == "tg-emoji":
                emoji_id = attributes.get("emoji-id", "")
                if not emoji_id.isdigit() or int(emoji_id) == 0:
                    raise fail("Invalid custom emoji identifier specified")
                argument = emoji_id
            elif tag == "blockquote" and "expandable" in attributes:
                argument = "expandable"
            stack.append(_OpenTag(tag, argument, utf16, len(out), begin))
            continue

        # An end tag.
        if not stack:
            raise fail(f"Unexpected end tag at byte offset {_byte_offset(html, begin)}")
        i += 1  # the '/'
        name_start = i
        while i < n and html[i] not in _HTML_SPACES and html[i] != ">":
            i += 1
        end_name = html[name_start:i].lower()
        while i < n and html[i] in _HTML_SPACES:
            i += 1
        if i >= n or html[i] != ">":
            raise fail(f"Unclosed end tag at byte offset {_byte_offset(html, begin)}")
        i += 1
        top = stack.pop()
        if end_name and end_name != top.tag:
            raise fail(
                f"Unmatched end tag at byte offset {_byte_offset(html, begin)}, "
                f'expected "</{top.tag}>", found "</{end_name}>"'
            )
        length = utf16 - top.utf16_start
        if length > 0:
            entity = _html_entity(top, length, "".join(out[top.out_start :]), known_users)
            if entity is not None:
                entities.append(entity)

    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    return "".join(out), _merge_pre_code(entities)


def _parse_html_attributes(html: str, i: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    """Parse the attributes of a start tag; returns them and the index of the closing '>'."""
    n = len(html)
    attributes: dict[str, str] = {}
    while True:
        while i < n and html[i] in _HTML_SPACES:
            i += 1
        if i < n and html[i] == ">":
            return attributes, i
        name_start = i
        while i < n and html[i] not in _HTML_SPACES and html[i] not in "=>":
            i += 1
        name = html[name_start:i].lower()
        if not name:
            raise HtmlParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset '
                f"{_byte_offset(html, begin)}"
            )
        while i < n and html[i] in _HTML_SPACES:
            i += 1
        if i >= n or html[i] != "=":
            # <blockquote expandable> is the one value-less attribute Telegram documents.
            if tag == "blockquote" and name == "expandable":
                attributes[name] = ""
                continue
            raise HtmlParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" at '
                f"byte offset {_byte_offset(html, begin)}"
            )
        i += 1
        while i < n and html[i] in _HTML_SPACES:
            i += 1
        if i >= n:
            raise HtmlParseError(
                f'Unclosed start tag "{tag}" at byte offset {_byte_offset(html, begin)}'
            )
        if html[i] not in "'\"":
            # An unquoted value must be a name token: letters, digits, '.' and '-'.
            token_start = i
            while i < n and html[i].isascii() and (html[i].isalnum() or html[i] in ".-"):
                i += 1
            value = html[token_start:i].lower()
            if i < n and html[i] not in _HTML_SPACES and html[i] != ">":
                raise HtmlParseError(
                    f"Unexpected end of name token at byte offset {_byte_offset(html, token_start)}"
                )
        else:
            quote = html[i]
            i += 1
            chars: list[str] = []
            while i < n and html[i] != quote:
                if html[i] == "&":
                    # Attribute values (URLs) keep a stray '&' even in strict mode.
                    decoded, after = _decode_html_entity(html, i)
                    if decoded is not None:
                        chars.append(decoded)
                        i = after
                        continue
                chars.append(html[i])
                i += 1
            if i < n:
                i += 1  # the closing quote
            value = "".join(chars)
        if i >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {_byte_offset(html, begin)}")
        attributes.setdefault(name, value)


def _html_entity(
    top: _OpenTag, length: int, inner_text: str, known_users: Mapping[int, JSON] | None
) -> JSON | None:
    offset = top.utf16_start
    simple = _SIMPLE_TAG_ENTITIES.get(top.tag)
    if simple is not None:
        return {"type": simple, "offset": offset, "length": length}
    if top.tag == "tg-emoji":
        return {
            "type": "custom_emoji",
            "offset": offset,
            "length": length,
            "custom_emoji_id": top.argument,
        }
    if top.tag == "blockquote":
        kind = "expandable_blockquote" if top.argument == "expandable" else "blockquote"
        return {"type": kind, "offset": offset, "length": length}
    if top.tag == "code":
        entity: JSON = {"type": "code", "offset": offset, "length": length}
        if top.argument:
            entity["language"] = top.argument  # moved onto an enclosing <pre> below
        return entity
    if top.tag == "pre":
        return {"type": "pre", "offset": offset, "length": length}
    # <a>: an empty href means the text itself is the URL.
    url = top.argument or inner_text
    mention = re.fullmatch(r"tg://user\?id=(\d+)", url.strip())
    if mention is not None:
        user = (known_users or {}).get(int(mention.group(1)))
        if user is None:
            return None  # Telegram drops mentions of users the bot cannot see
        return {"type": "text_mention", "offset": offset, "length": length, "user": dict(user)}
    normalized = normalize_url(url)
    if normalized is None:
        return None  # tdlib silently drops links with an invalid URL
    return {"type": "text_link", "offset": offset, "length": length, "url": normalized}


def _merge_pre_code(entities: list[JSON]) -> list[JSON]:
    """<pre><code class="language-x"> becomes one pre entity with a language."""
    pres = [e for e in entities if e["type"] == "pre"]
    result: list[JSON] = []
    for entity in entities:
        if entity["type"] == "code":
            enclosing = [
                p
                for p in pres
                if p["offset"] <= entity["offset"]
                and entity["offset"] + entity["length"] <= p["offset"] + p["length"]
            ]
            if enclosing:
                pre = enclosing[0]
                same_range = (pre["offset"], pre["length"]) == (entity["offset"], entity["length"])
                if same_range and entity.get("language"):
                    pre["language"] = entity["language"]
                continue  # code inside pre is redundant: "entities can't contain each other"
            entity.pop("language", None)
        result.append(entity)
    return _sort_entities(result)


def _sort_entities(entities: list[JSON]) -> list[JSON]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


_TRIM_CHARS = " \t\r\n\v\f"


def _trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram strips leading/trailing whitespace from texts; entities are shifted."""
    stripped_left = text.lstrip(_TRIM_CHARS)
    shift = utf16_len(text[: len(text) - len(stripped_left)])
    result = stripped_left.rstrip(_TRIM_CHARS)
    total = utf16_len(result)
    fixed: list[JSON] = []
    for entity in entities:
        start = max(0, entity["offset"] - shift)
        end = min(total, entity["offset"] + entity["length"] - shift)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    return result, fixed


_AUTO_ENTITY_PATTERNS = (
    ("url", re.compile(r"\bhttps?://[^\s<>\"']*[^\s<>\"'.,;:!?)\]}]", re.IGNORECASE)),
    ("bot_command", re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")),
    ("mention", re.compile(r"(?<![A-Za-z0-9_@/])@[A-Za-z0-9_]{5,32}(?![A-Za-z0-9_])")),
    ("hashtag", re.compile(r"(?<![\w#])#(?=\w*[^\W\d])\w+")),
)
# Auto-detected entities are not created inside these explicit ones.
_OPAQUE_ENTITIES = frozenset({"code", "pre", "text_link", "text_mention", "custom_emoji"})


def detect_entities(text: str, existing: Iterable[JSON] = ()) -> list[JSON]:
    """The entities Telegram's server adds by itself: urls, /commands, @mentions, #tags."""
    taken = [
        (e["offset"], e["offset"] + e["length"]) for e in existing if e["type"] in _OPAQUE_ENTITIES
    ]
    found: list[JSON] = []
    for kind, pattern in _AUTO_ENTITY_PATTERNS:
        for match in pattern.finditer(text):
            start = utf16_len(text[: match.start()])
            end = start + utf16_len(match.group(0))
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            found.append({"type": kind, "offset": start, "length": end - start})
    return found
