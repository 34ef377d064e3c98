"""What the emulated Telegram holds: users, chats, recorded calls, files and queries; the
parameters of a request."""

from __future__ import annotations

import contextlib
import email.message
import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, _bad
from .limits import JSON, JSON_PARAMS

# --------------------------------------------------------------------------------------
# Model objects
# --------------------------------------------------------------------------------------


@dataclass
class User:
    """A Telegram user controlled by the test."""

    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def to_dict(self) -> JSON:
        data: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass
class Chat:
    """A chat known to the emulator, with the bot's standing in it."""

    id: int
    type: str  # "private" | "group" | "supergroup" | "channel"
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_forum: bool = False
    # The bot's membership: "administrator" | "member" | "left" | "kicked".
    bot_status: str = "member"
    # Private chats: has the user ever written to the bot / has the user blocked it?
    opened: bool = False
    blocked: bool = False
    linked_chat_id: int | None = None
    # user id -> "creator" | "administrator" | "member" | "left" | "kicked"
    members: dict[int, str] = field(default_factory=dict)

    def to_dict(self) -> JSON:
        data: JSON = {"id": self.id, "type": self.type}
        if self.type == "private":
            data["first_name"] = self.first_name or ""
            if self.last_name:
                data["last_name"] = self.last_name
        else:
            data["title"] = self.title or ""
        if self.username:
            data["username"] = self.username
        if self.is_forum:
            data["is_forum"] = True
        return data


@dataclass
class UploadedFile:
    """A file part of a multipart/form-data request."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class Call:
    """One HTTP request to the Bot API as the emulator saw and answered it."""

    method: str
    params: JSON
    time: float
    ok: bool = False
    result: Any = None
    error_code: int | None = None
    description: str | None = None
    duration: float = 0.0
    injected: bool = False  # the error came from inject_error()
    superseded: bool = False  # a long poll terminated by a newer getUpdates (409)
    note: str | None = None

    def summary(self) -> str:
        params = json.dumps(self.params, ensure_ascii=False, default=str)
        if len(params) > 300:
            params = params[:297] + "..."
        outcome = "ok" if self.ok else f"ERROR {self.error_code} {self.description!r}"
        return f"{self.method} -> {outcome} params={params}"


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class _CallbackQuery:
    id: str
    user_id: int
    data: str | None
    chat_id: int | None
    message_id: int | None
    inline_message_id: str | None
    created: float
    answered: bool = False
    answer: JSON | None = None


@dataclass
class _InlineQuery:
    id: str
    user_id: int
    query: str
    created: float
    answered: bool = False
    answer: JSON | None = None


@dataclass
class _Fault:
    method: str
    error: ApiError
    times: int


class _Params:
    """Typed access to request parameters, whatever encoding the client used."""

    def __init__(self, values: JSON, files: dict[str, UploadedFile]):
        self.values = values
        self.files = files

    def has(self, name: str) -> bool:
        return self.values.get(name) is not None

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None:
            if required:
                raise _bad(f"{name} is empty")
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dict | list):
            return json.dumps(value)
        return str(value)

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise _bad(f"{name} is empty")
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise _bad(f'wrong parameter "{name}" specified: integer expected') from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def json_value(self, name: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise _bad(f"can't parse {name} JSON object") from None
        return value

    def file(self, name: str) -> UploadedFile | None:
        """An uploaded file given directly or through an ``attach://<part>`` reference."""
        if name in self.files:
            return self.files[name]
        value = self.values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            attached = self.files.get(value[len("attach://") :])
            if attached is None:
                raise _bad(f"file {value} not found in the request")
            return attached
        return None


def _parse_multipart(body: bytes, boundary: str) -> tuple[JSON, dict[str, UploadedFile]]:
    """Minimal RFC 7578 parser (the stdlib ``cgi`` module is deprecated)."""
    values: JSON = {}
    files: dict[str, UploadedFile] = {}
    delimiter = b"--" + boundary.encode("latin-1")
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        chunk = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, separator, data = chunk.partition(b"\r\n\r\n")
        if not separator:
            continue
        headers = email.message.Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip():
                headers[name.strip()] = value.strip()
        field_name = headers.get_param("name", header="content-disposition")
        if not isinstance(field_name, str):
            continue
        filename = headers.get_filename()
        if filename is not None:
            content_type = headers.get_content_type() if "content-type" in headers else ""
            files[field_name] = UploadedFile(
                field_name, filename, content_type or "application/octet-stream", data
            )
        else:
            values[field_name] = data.decode("utf-8", "surrogateescape")
    return values, files


def _decode_json_params(values: JSON) -> JSON:
    decoded = dict(values)
    for key in JSON_PARAMS & decoded.keys():
        value = decoded[key]
        if isinstance(value, str):
            # A broken value stays a string; the method reports "can't parse ... JSON object".
            with contextlib.suppress(ValueError):
                decoded[key] = json.loads(value)
    return decoded


def _is_http_url(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)
