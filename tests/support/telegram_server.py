"""A local Telegram Bot API server for end-to-end tests over real HTTP.

The bot under test talks to it exactly as to api.telegram.org (PTB's own HTTPXRequest), so
tests exercise the real request, retry and parsing code. The server keeps what the bot sent per
chat, hands out updates through long polling or, once setWebhook was called, POSTs them to the
webhook as Telegram does (tests/support/webhook_delivery.py: `route_webhook` says which local
addresses the public https URL leads to), mimics Telegram's validation where bots commonly
trip (parse errors, "message is not modified", 64-byte callback data, 20 MB getFile limit), and
can inject faults (429, 5xx, delays, dropped connections, unsupported methods).

Usage::

    async with TelegramTestServer(token="123:abc") as server:
        alice = server.person(user_id=101, first_name="Alice")
        ...  # build the bot with base_url=f"{server.root}/bot"
"""

# ruff: noqa: ASYNC109 - a timeout= argument reads better in tests than asyncio.timeout blocks

from __future__ import annotations

import asyncio
import contextlib
import copy
import html
import itertools
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .webhook_delivery import WebhookDelivery

if TYPE_CHECKING:
    from .person import Person

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]

TOKEN = "123456:TEST-token_between"  # the token the tests' bot is built with

GET_FILE_LIMIT = 20 * 1024 * 1024
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_POLL_TIMEOUT = 50.0

# Update types Telegram sends when allowed_updates is unset or empty.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

# Form values that are plain strings; everything else is JSON-decoded when it parses.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "file_id",
        "url",
        "action",
        "language_code",
        "secret_token",
        "ip_address",
        "document",
    }
)

_MEDIA_METHODS = {"sendDocument": "document"}  # the bot sends files only as documents (/export)

_FILE_DIRS = {
    "document": ("documents", ".bin"),
    "photo": ("photos", ".jpg"),
    "voice": ("voice", ".oga"),
    "audio": ("music", ".mp3"),
    "video": ("videos", ".mp4"),
    "animation": ("animations", ".mp4"),
    "video_note": ("video_notes", ".mp4"),
    "sticker": ("stickers", ".webp"),
}

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class ApiError(Exception):
    """A Bot API error answer; raised inside method handlers and turned into a response."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


# --------------------------------------------------------------------------- records


@dataclass
class UploadedFile:
    """A multipart file part as the bot uploaded it."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class StoredFile:
    """A file the server can serve through getFile and the file URL.

    ``file_size`` may exceed ``len(data)`` to fake a large file without holding it.
    """

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_size: int
    kind: str
    filename: str | None = None
    mime_type: str | None = None

    def as_file(self) -> JSONDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }


@dataclass
class ApiRequest:
    """One call the bot made, recorded before any fault or validation applies."""

    method: str
    params: JSONDict
    files: dict[str, UploadedFile]
    time: float
    status: int | None = None
    fault: str | None = None


@dataclass
class BotMessage:
    """A message the bot sent, as stored by the server (a snapshot; edits make new ones)."""

    chat_id: int
    message_id: int
    kind: str
    text: str | None
    entities: list[JSONDict]
    reply_markup: JSONDict | None
    raw: JSONDict
    date: int
    source_text: str | None = None
    parse_mode: str | None = None
    media: StoredFile | None = None
    reply_to_message_id: int | None = None
    edit_date: int | None = None
    deleted: bool = False

    @property
    def caption(self) -> str | None:
        return self.text if self.kind != "text" else None

    @property
    def document(self) -> StoredFile | None:
        return self.media if self.kind == "document" else None

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard rows as (text, callback_data); URL buttons have None data."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[(b.get("text", ""), b.get("callback_data")) for b in row] for row in rows]

    @property
    def button_texts(self) -> list[str]:
        return [text for row in self.buttons for text, _ in row]

    @property
    def keyboard(self) -> list[list[str]]:
        """Reply keyboard rows (the custom keyboard under the input field), as texts."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [[b if isinstance(b, str) else b.get("text", "") for b in row] for row in rows]


@dataclass
class BotEdit:
    """An edit the bot made: ``kind`` is "text", "caption" or "reply_markup"."""

    kind: str
    message: BotMessage

    @property
    def message_id(self) -> int:
        return self.message.message_id

    @property
    def text(self) -> str | None:
        return self.message.text

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        return self.message.buttons

    @property
    def reply_markup(self) -> JSONDict | None:
        return self.message.reply_markup


@dataclass
class ChatState:
    """Everything that happened in one chat, in order."""

    id: int
    type: str
    info: JSONDict
    user: JSONDict | None = None
    blocked: bool = False
    sent: list[BotMessage] = field(default_factory=list)
    current: dict[int, BotMessage] = field(default_factory=dict)
    edits: list[BotEdit] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    pinned: list[int] = field(default_factory=list)
    chat_actions: list[str] = field(default_factory=list)
    person_messages: dict[int, JSONDict] = field(default_factory=dict)
    _last_message_id: int = 0

    def next_message_id(self) -> int:
        self._last_message_id += 1
        return self._last_message_id

    def find(self, message_id: int) -> JSONDict | None:
        """The current JSON of any live message in this chat, the bot's or the person's."""
        bot_message = self.current.get(message_id)
        if bot_message is not None:
            return None if bot_message.deleted else bot_message.raw
        return self.person_messages.get(message_id)


@dataclass
class _Fault:
    method: str
    kind: str  # "error" | "delay" | "drop"
    remaining: int | None
    status: int = 0
    body: JSONDict | str | bytes | None = None
    seconds: float = 0.0


class _Signal:
    """Wakes every waiter on any change; sync ``notify`` so plain methods can call it."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return predicate()
            event = self._event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)
        return True


# --------------------------------------------------------------------------- formatting


def utf16_len(text: str) -> int:
    """Telegram measures entity offsets in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


class _EntityError(Exception):
    pass


class _TextBuilder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.offset = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.offset += utf16_len(text)

    @property
    def text(self) -> str:
        return "".join(self.parts)


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode())


_HTML_TAGS = {
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
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_TAG_RE = re.compile(r"\s*([a-zA-Z][\w-]*)(.*)", re.S)
_HTML_ATTR_RE = re.compile(r"""([\w-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"']+)))?""")
_HTML_ENTITY_RE = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


def _parse_html(src: str) -> tuple[str, list[JSONDict]]:
    out = _TextBuilder()
    stack: list[tuple[str, int, dict[str, str]]] = []
    entities: list[JSONDict] = []
    i = 0
    while i < len(src):
        char = src[i]
        if char == "<":
            end = src.find(">", i)
            offset = _byte_offset(src, i)
            if end == -1:
                raise _EntityError(f"Unclosed start tag at byte offset {offset}")
            inner = src[i + 1 : end]
            if inner.startswith("/"):
                name = inner[1:].strip().lower()
                if not stack:
                    raise _EntityError(f'Unexpected end tag "{name}" at byte offset {offset}')
                top, start, attrs = stack.pop()
                if name != top:
                    raise _EntityError(
                        f'Unmatched end tag at byte offset {offset}, expected "</{top}>", '
                        f'found "</{name}>"'
                    )
                language = attrs.get("class", "").removeprefix("language-")
                if top == "code" and stack and stack[-1][0] == "pre" and language:
                    stack[-1][2]["language"] = language
                    if stack[-1][1] == start:
                        i = end + 1
                        continue
                entity = _html_entity(top, attrs, start, out.offset - start)
                if entity:
                    entities.append(entity)
            else:
                match = _HTML_TAG_RE.fullmatch(inner)
                name = match.group(1).lower() if match else ""
                if name not in _HTML_TAGS:
                    raise _EntityError(f'Unsupported start tag "{name}" at byte offset {offset}')
                attrs = {
                    m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or m.group(4) or "")
                    for m in _HTML_ATTR_RE.finditer(match.group(2) if match else "")
                }
                if name == "span" and attrs.get("class") != "tg-spoiler":
                    raise _EntityError(f'Unsupported start tag "span" at byte offset {offset}')
                stack.append((name, out.offset, attrs))
            i = end + 1
        elif char == "&":
            match = _HTML_ENTITY_RE.match(src, i)
            if match:
                decoded = html.unescape(match.group(0))
                out.add(decoded)
                i = match.end()
            else:
                out.add("&")
                i += 1
        else:
            j = i
            while j < len(src) and src[j] not in "<&":
                j += 1
            out.add(src[i:j])
            i = j
    if stack:
        raise _EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.text, entities


def _html_entity(tag: str, attrs: dict[str, str], offset: int, length: int) -> JSONDict | None:
    if length <= 0:
        return None
    kind = _HTML_TAGS[tag]
    entity: JSONDict = {"type": kind, "offset": offset, "length": length}
    if tag == "a":
        if not attrs.get("href"):
            return None
        entity["url"] = attrs["href"]
    elif tag == "pre" and attrs.get("language"):
        entity["language"] = attrs["language"]
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    return entity


def _strip_text(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Telegram trims surrounding whitespace; entities shift and clip with it."""
    left = text.lstrip()
    shift = utf16_len(text[: len(text) - len(left)])
    stripped = left.rstrip()
    total = utf16_len(stripped)
    result = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


def format_text(
    text: str, parse_mode: str | None, entities: list[JSONDict] | None = None
) -> tuple[str, list[JSONDict]]:
    """Applies parse_mode HTML (the only one the bot uses) the way Telegram does; returns the
    plain text and its entities.

    Raises:
        ApiError: 400 "can't parse entities" for malformed markup, as Telegram answers.
    """
    mode = (parse_mode or "").lower()
    try:
        if entities is not None or not mode:
            plain, found = text, list(entities or [])
        elif mode == "html":
            plain, found = _parse_html(text)
        else:  # the bot sends HTML only; a Markdown reply would be a bug worth a loud 400
            raise _bad_request(f"parse_mode {parse_mode!r} is not supported by the test server")
    except _EntityError as exc:
        raise _bad_request(f"can't parse entities: {exc}") from None
    plain, found = _strip_text(plain, found)
    found.sort(key=lambda e: (e["offset"], -e["length"]))
    return plain, found


def command_entities(text: str) -> list[JSONDict]:
    """A ``bot_command`` entity for a leading /command, so CommandHandler matches."""
    match = re.match(r"/[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_]+)?", text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]


# --------------------------------------------------------------------------- server


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _coerce(name: str, value: str) -> Any:
    if name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in {"true", "1"}
    return bool(value)


class TelegramTestServer:
    """A Bot API server on 127.0.0.1 with an ephemeral port, for one test.

    Args:
        token: The only token accepted; others get 401 Unauthorized.
        bot_username: The bot's username in getMe and in messages it sends.
        bot_first_name: The bot's display name.
        host: Interface to bind; the port is always picked by the OS.
    """

    API_METHODS = (
        "getMe",
        "getUpdates",
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "answerCallbackQuery",
        "sendChatAction",
        "setMyCommands",
        "getMyCommands",
        "setWebhook",
        "deleteWebhook",
        "getFile",
        *_MEDIA_METHODS,
        "deleteMessage",
        "deleteMessages",
        "pinChatMessage",
        "unpinChatMessage",
    )

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        bot_username: str = "between_test_bot",
        bot_first_name: str = "Between",
        host: str = "127.0.0.1",
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.host = host
        self.port: int | None = None
        self.now: Callable[[], float] = time.time
        self.requests: list[ApiRequest] = []
        self.downloads: list[str] = []
        self.files: dict[str, StoredFile] = {}
        self.chats: dict[int, ChatState] = {}
        self.persons: dict[int, Person] = {}
        self.callback_answers: dict[str, JSONDict] = {}
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.webhook: JSONDict = {"url": ""}
        self.unknown_methods: list[str] = []
        self._updates: list[JSONDict] = []
        self._update_ids = itertools.count(100_001)
        self._file_counter = itertools.count(1)
        self._callback_ids: dict[str, int] = {}  # query id -> user id
        self._allowed_updates: list[str] | None = None
        self._delivered_upto = 0
        self._poll_generation = 0
        self._faults: list[_Fault] = []
        self._unsupported: dict[str, ApiError] = {}
        self._signal = _Signal()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.delivery = WebhookDelivery(
            self._deliverable, self._accepted, self.wait_for, self.notify
        )
        self._handlers: dict[str, tuple[str, Callable[..., Any]]] = {}
        for name in self.API_METHODS:
            handler = getattr(self, f"_api_{_snake(name)}", None)
            if name in _MEDIA_METHODS:
                handler = self._media_handler(name)
            assert handler is not None, name
            self._handlers[name.lower()] = (name, handler)

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> TelegramTestServer:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        """Ends pending long polls at once so shutdown never waits for their timeout."""
        self._closing.set()
        self._signal.notify()
        await self.delivery.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TelegramTestServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def root(self) -> str:
        if self.port is None:
            raise RuntimeError("server not started")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.root}/file/bot"

    @property
    def bot_user(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ----------------------------------------------------------------- people and chats

    def person(
        self,
        user_id: int = 101,
        first_name: str = "Alice",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> Person:
        """The person with this id (created on first use, with their private chat)."""
        from .person import Person

        existing = self.persons.get(user_id)
        if existing is not None:
            return existing
        person = Person(
            self,
            user_id=user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        self.persons[user_id] = person
        info: JSONDict = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name:
            info["last_name"] = last_name
        if username:
            info["username"] = username
        self.chats[user_id] = ChatState(id=user_id, type="private", info=info, user=person.user)
        return person

    def group(self, chat_id: int, title: str = "Test group") -> ChatState:
        """A group chat (negative id), created on first use."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        chat = self.chats.get(chat_id)
        if chat is None:
            info = {"id": chat_id, "type": "group", "title": title}
            chat = self.chats[chat_id] = ChatState(id=chat_id, type="group", info=info)
        return chat

    def chat(self, chat_id: int) -> ChatState:
        return self.chats[chat_id]

    def date(self) -> int:
        return int(self.now())

    def notify(self) -> None:
        """Wakes everything waiting on server state (long polls, next_message, ...)."""
        self._signal.notify()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Waits until ``predicate()`` holds after some change, or the timeout passes."""
        return await self._signal.wait_for(predicate, timeout)

    # ----------------------------------------------------------------- updates

    def add_update(self, kind: str, payload: JSONDict) -> JSONDict:
        """Queues an update of ``kind`` ("message", "callback_query", ...); returns it."""
        update = {"update_id": next(self._update_ids), kind: payload}
        self._updates.append(update)
        self.notify()
        return update

    def route_webhook(self, public_url: str, *backends: str) -> None:
        """Where POSTs to the public https webhook URL really go: these local http addresses,
        taken in turn (a TLS-terminating load balancer in front of one or more replicas)."""
        self.delivery.route(public_url, *backends)

    def _accepted(self, update: JSONDict) -> None:
        """A webhook answered 2xx: the update is delivered and leaves the queue."""
        self._updates = [u for u in self._updates if u is not update]
        self._delivered_upto = max(self._delivered_upto, int(update["update_id"]))
        self.notify()

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by the bot (through getUpdates' offset)."""
        return list(self._updates)

    async def wait_delivered(self, timeout: float = 10.0) -> bool:
        """Waits until the bot has fetched every queued update at least once."""
        return await self.wait_for(
            lambda: all(u["update_id"] <= self._delivered_upto for u in self._updates), timeout
        )

    def store_file(
        self,
        data: bytes,
        *,
        kind: str,
        filename: str | None = None,
        mime_type: str | None = None,
        file_size: int | None = None,
    ) -> StoredFile:
        """Keeps bytes so getFile and the file URL serve them; ``file_size`` may be faked."""
        number = next(self._file_counter)
        folder, default_ext = _FILE_DIRS.get(kind, ("documents", ".bin"))
        ext = default_ext
        if filename and "." in filename:
            ext = "." + filename.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=f"{kind.upper()}-{number}-{secrets.token_hex(6)}",
            file_unique_id=f"U{number}{secrets.token_hex(3)}",
            file_path=f"{folder}/file_{number}{ext}",
            data=data,
            file_size=len(data) if file_size is None else file_size,
            kind=kind,
            filename=filename,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        return stored

    def new_callback_query_id(self, user_id: int) -> str:
        query_id = str(secrets.randbits(62))
        self._callback_ids[query_id] = user_id
        return query_id

    # ----------------------------------------------------------------- inspection

    def calls(self, method: str) -> list[JSONDict]:
        """Params of every request to ``method`` (case-insensitive), oldest first."""
        key = method.lower()
        return [r.params for r in self.requests if r.method.lower() == key]

    async def wait_for_call(self, method: str, *, timeout: float = 10.0, n: int = 1) -> ApiRequest:
        """Waits for the ``n``-th request to ``method`` and returns it."""
        key = method.lower()

        def matching() -> list[ApiRequest]:
            return [r for r in self.requests if r.method.lower() == key]

        if not await self.wait_for(lambda: len(matching()) >= n, timeout):
            raise TimeoutError(f"{method} was called {len(matching())} times, expected {n}")
        return matching()[n - 1]

    def bot_commands(
        self, scope: JSONDict | None = None, language_code: str = ""
    ) -> list[JSONDict]:
        return self.commands.get(self._commands_key(scope, language_code), [])

    # ----------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        description: str | None = None,
        times: int | None = 1,
        body: str | bytes | None = None,
    ) -> None:
        """The next ``times`` calls to ``method`` ("*" for any) fail with ``status``.

        429 answers carry ``parameters.retry_after``; ``body`` replaces the JSON answer with raw
        text (an nginx HTML page for a 502, say). ``times=None`` fails until clear_faults().
        """
        answer: JSONDict | str | bytes
        if body is not None:
            answer = body
        elif status == 429:
            answer = ApiError(
                429,
                description or f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            ).body()
        else:
            text = description or _DEFAULT_DESCRIPTIONS.get(status, "Error")
            answer = ApiError(status, text).body()
        self._faults.append(_Fault(method.lower(), "error", times, status=status, body=answer))

    def delay_next(self, method: str, seconds: float, *, times: int | None = 1) -> None:
        """Holds the next calls before handling them; the call still takes effect afterwards."""
        self._faults.append(_Fault(method.lower(), "delay", times, seconds=seconds))

    def drop_next(self, method: str, *, times: int | None = 1) -> None:
        """Closes the connection instead of answering; the call does not take effect."""
        self._faults.append(_Fault(method.lower(), "drop", times))

    def unsupported(
        self, method: str, *, status: int = 404, description: str | None = None
    ) -> None:
        """``method`` always fails, as on an older or restricted Bot API server."""
        if description is None:
            description = (
                "Not Found: method not found"
                if status == 404
                else f"{_DEFAULT_DESCRIPTIONS.get(status, 'Error')}: method is not supported"
            )
        self._unsupported[method.lower()] = ApiError(status, description)

    def clear_faults(self) -> None:
        self._faults.clear()
        self._unsupported.clear()

    def _take_fault(self, key: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method in (key, "*"):
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    # ----------------------------------------------------------------- HTTP

    async def _read_params(self, request: web.Request) -> tuple[JSONDict, dict[str, UploadedFile]]:
        params: JSONDict = {k: _coerce(k, v) for k, v in request.query.items()}
        files: dict[str, UploadedFile] = {}
        if not request.can_read_body:
            return params, files
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
            return params, files
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                data = value.file.read()
                files[name] = UploadedFile(name, value.filename, value.content_type, data)
            else:
                params[name] = _coerce(name, str(value))
        return params, files

    # The in-memory model answers every call through `call` and `download`; the HTTP handlers
    # below and the fast tier's in-process request (tests/support/in_process.py) are two thin
    # transports over them, so both tiers see the same chats, validation and faults.

    DROP = "drop"  # what `call`/`download` return when a drop_next fault closes the connection

    async def call(
        self, token: str, method: str, params: JSONDict, files: dict[str, UploadedFile]
    ) -> tuple[int, JSONDict | str | bytes] | str:
        """Answers one Bot API call as Telegram would: (HTTP status, body), or DROP."""
        key = method.lower()
        name, handler = self._handlers.get(key, (method, None))
        record = ApiRequest(name, params, files, time.time())
        self.requests.append(record)
        self.notify()

        if token != self.token:
            return self._error(ApiError(401, "Unauthorized"), record)
        fault = self._take_fault(key)
        if fault is not None:
            record.fault = fault.kind
            if fault.kind == "drop":
                record.status = 0
                return self.DROP
            if fault.kind == "error":
                record.status = fault.status
                assert fault.body is not None
                return fault.status, fault.body
            await self._sleep(fault.seconds)
        if key in self._unsupported:
            return self._error(self._unsupported[key], record)
        if handler is None:
            logger.warning("Bot called %s, which the test server does not implement", method)
            self.unknown_methods.append(method)
            return self._error(ApiError(404, "Not Found: method not found"), record)
        try:
            result = handler(params, files)
            if asyncio.iscoroutine(result):
                result = await result
        except ApiError as exc:
            return self._error(exc, record)
        record.status = 200
        self.notify()
        return 200, {"ok": True, "result": result}

    async def download(self, token: str, path: str) -> tuple[int, JSONDict | str | bytes] | str:
        """Serves a file as the file URL does: (status, bytes or error JSON), or DROP."""
        if token != self.token:
            return self._error(ApiError(401, "Unauthorized"))
        self.downloads.append(path)
        fault = self._take_fault("download")
        if fault is not None:
            if fault.kind == "drop":
                return self.DROP
            if fault.kind == "error":
                assert fault.body is not None
                return fault.status, fault.body
            await self._sleep(fault.seconds)
        stored = next((f for f in self.files.values() if f.file_path == path), None)
        if stored is None:
            return self._error(ApiError(404, "Not Found"))
        return 200, stored.data

    def file_at(self, path: str) -> StoredFile | None:
        return next((f for f in self.files.values() if f.file_path == path), None)

    @staticmethod
    def _error(error: ApiError, record: ApiRequest | None = None) -> tuple[int, JSONDict]:
        if record is not None:
            record.status = error.status
        return error.status, error.body()

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        try:
            params, files = await self._read_params(request)
        except ValueError:
            return self._error_response(_bad_request("can't parse request body"))
        answer = await self.call(
            request.match_info["token"], request.match_info["method"], params, files
        )
        return await self._respond(request, answer, None)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        answer = await self.download(request.match_info["token"], request.match_info["path"])
        stored = self.file_at(request.match_info["path"])
        return await self._respond(request, answer, stored)

    async def _respond(
        self,
        request: web.Request,
        answer: tuple[int, JSONDict | str | bytes] | str,
        stored: StoredFile | None,
    ) -> web.StreamResponse:
        if answer == self.DROP:
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        assert isinstance(answer, tuple)
        status, body = answer
        if isinstance(body, dict):
            return web.json_response(body, status=status)
        if isinstance(body, bytes) and stored is not None and status == 200:
            return web.Response(
                body=body, content_type=stored.mime_type or "application/octet-stream"
            )
        return web.Response(body=body, status=status, content_type="text/html")

    @staticmethod
    def _error_response(error: ApiError, record: ApiRequest | None = None) -> web.Response:
        if record is not None:
            record.status = error.status
        return web.json_response(error.body(), status=error.status)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    # ----------------------------------------------------------------- helpers for handlers

    def _chat_for(self, params: JSONDict, *, sending: bool = True) -> ChatState:
        chat_id = params.get("chat_id")
        if chat_id is None:
            raise _bad_request("chat_id is empty")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            chat = next(
                (c for c in self.chats.values() if c.info.get("username") == chat_id[1:]), None
            )
        else:
            try:
                chat = self.chats.get(int(chat_id))
            except (TypeError, ValueError):
                chat = None
        if chat is None:
            raise _bad_request("chat not found")
        if sending and chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _message_id(self, params: JSONDict) -> int:
        try:
            return int(params["message_id"])
        except (KeyError, TypeError, ValueError):
            raise _bad_request("message identifier is not specified") from None

    @staticmethod
    def _validate_markup(markup: Any) -> JSONDict | None:
        if markup in (None, ""):
            return None
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                actions = [k for k in button if k != "text"]
                if not button.get("text"):
                    raise _bad_request("text buttons are unallowed in the inline keyboard")
                if len(actions) != 1:
                    raise _bad_request(
                        "can't parse inline keyboard button: "
                        "InlineKeyboardButton must have exactly one optional field"
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise _bad_request("BUTTON_DATA_INVALID")
        return markup

    def _reply_to(self, chat: ChatState, params: JSONDict) -> tuple[int | None, JSONDict | None]:
        reply = params.get("reply_parameters") or {}
        message_id = reply.get("message_id", params.get("reply_to_message_id"))
        if message_id is None:
            return None, None
        found = chat.find(int(message_id))
        if found is None:
            allow = reply.get("allow_sending_without_reply")
            if allow is None:
                allow = params.get("allow_sending_without_reply")
            if _as_bool(allow):
                return None, None
            raise _bad_request("message to be replied not found")
        replied = {k: v for k, v in found.items() if k != "reply_to_message"}
        return int(message_id), replied

    def _store_bot_message(
        self,
        chat: ChatState,
        kind: str,
        params: JSONDict,
        content: JSONDict,
        text: str | None,
        entities: list[JSONDict],
        media: StoredFile | None = None,
    ) -> JSONDict:
        markup = self._validate_markup(params.get("reply_markup"))
        reply_to_id, replied = self._reply_to(chat, params)
        message_id = chat.next_message_id()
        raw: JSONDict = {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": chat.info,
            "date": self.date(),
            **content,
        }
        if replied is not None:
            raw["reply_to_message"] = replied
        if markup is not None and "inline_keyboard" in markup:
            raw["reply_markup"] = markup
        message = BotMessage(
            chat_id=chat.id,
            message_id=message_id,
            kind=kind,
            text=text,
            entities=entities,
            reply_markup=markup,
            raw=raw,
            date=raw["date"],
            source_text=params.get("text", params.get("caption")),
            parse_mode=params.get("parse_mode"),
            media=media,
            reply_to_message_id=reply_to_id,
        )
        chat.sent.append(message)
        chat.current[message_id] = message
        return copy.deepcopy(raw)

    def _editable(self, params: JSONDict) -> tuple[ChatState, BotMessage]:
        chat = self._chat_for(params, sending=False)
        message_id = self._message_id(params)
        message = chat.current.get(message_id)
        if message is None or message.deleted:
            if message_id in chat.person_messages:
                raise _bad_request("message can't be edited")
            raise _bad_request("message to edit not found")
        return chat, message

    def _apply_edit(self, chat: ChatState, old: BotMessage, kind: str, new: BotMessage) -> JSONDict:
        if (new.text, new.entities, new.reply_markup) == (
            old.text,
            old.entities,
            old.reply_markup,
        ):
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        new.edit_date = self.date()
        raw = copy.deepcopy(old.raw)
        raw["edit_date"] = new.edit_date
        text_key, entities_key = (
            ("text", "entities") if old.kind == "text" else ("caption", "caption_entities")
        )
        raw.pop(entities_key, None)
        raw.pop("reply_markup", None)
        if new.text is not None:
            raw[text_key] = new.text
        if new.entities:
            raw[entities_key] = new.entities
        if new.reply_markup is not None and "inline_keyboard" in new.reply_markup:
            raw["reply_markup"] = new.reply_markup
        new.raw = raw
        chat.current[new.message_id] = new
        chat.edits.append(BotEdit(kind, new))
        return copy.deepcopy(raw)

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    # ----------------------------------------------------------------- methods

    def _api_get_me(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _api_get_updates(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> list[JSONDict]:
        if self.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        if offset is not None:
            offset = int(offset)
            if offset < 0:
                self._updates = self._updates[offset:]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if params.get("allowed_updates") is not None:
            self._allowed_updates = list(params["allowed_updates"])
        limit = max(1, min(int(params.get("limit") or 100), 100))
        timeout = min(float(params.get("timeout") or 0), MAX_POLL_TIMEOUT)

        self._poll_generation += 1
        generation = self._poll_generation
        self.notify()  # terminates an older poll still waiting

        def ready() -> bool:
            return (
                bool(self._deliverable())
                or self._closing.is_set()
                or generation != self._poll_generation
            )

        await self.wait_for(ready, timeout)
        if generation != self._poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        batch = self._deliverable()[:limit]
        if batch:
            self._delivered_upto = max(self._delivered_upto, batch[-1]["update_id"])
            self.notify()
        return copy.deepcopy(batch)

    def _deliverable(self) -> list[JSONDict]:
        """Queued updates of allowed types; others are dropped, as Telegram never sends them."""
        allowed = self._allowed_updates
        kept = []
        for update in self._updates:
            kind = next(k for k in update if k != "update_id")
            if (kind in allowed) if allowed else (kind not in _DEFAULT_EXCLUDED_UPDATES):
                kept.append(update)
        self._updates = kept
        return kept

    def _api_send_message(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat = self._chat_for(params)
        source = params.get("text")
        if source is None or str(source) == "":
            raise _bad_request("message text is empty")
        text, entities = format_text(str(source), params.get("parse_mode"), params.get("entities"))
        if not text:
            raise _bad_request("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        content: JSONDict = {"text": text}
        if entities:
            content["entities"] = entities
        if params.get("link_preview_options"):
            content["link_preview_options"] = params["link_preview_options"]
        return self._store_bot_message(chat, "text", params, content, text, entities)

    def _media_handler(self, method: str) -> Callable[[JSONDict, dict[str, UploadedFile]], Any]:
        kind = _MEDIA_METHODS[method]

        def handle(params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
            return self._send_media(kind, params, files)

        return handle

    def _send_media(self, kind: str, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat = self._chat_for(params)
        value = params.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = None
            upload = files.get(params[kind].removeprefix("attach://"))
        else:
            upload = files.get(kind)
        if upload is not None:
            stored = self.store_file(
                upload.data,
                kind=kind,
                filename=upload.filename,
                mime_type=upload.content_type,
            )
        elif isinstance(value, str) and value in self.files:
            stored = self.files[value]
        else:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        caption: str | None = None
        entities: list[JSONDict] = []
        if params.get("caption"):
            caption, entities = format_text(
                str(params["caption"]), params.get("parse_mode"), params.get("caption_entities")
            )
            if len(caption) > MAX_CAPTION_LENGTH:
                raise _bad_request("message caption is too long")
        content: JSONDict = {kind: media_json(kind, stored, params)}
        if caption:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
        return self._store_bot_message(
            chat, kind, params, content, caption or None, entities, stored
        )

    def _api_edit_message_text(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        chat, old = self._editable(params)
        if old.kind != "text":
            raise _bad_request("there is no text in the message to edit")
        source = params.get("text")
        if not source:
            raise _bad_request("message text is empty")
        text, entities = format_text(str(source), params.get("parse_mode"), params.get("entities"))
        if not text:
            raise _bad_request("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        markup = self._validate_markup(params.get("reply_markup"))
        new = replace(
            old,
            text=text,
            entities=entities,
            reply_markup=markup,
            source_text=str(source),
            parse_mode=params.get("parse_mode"),
        )
        return self._apply_edit(chat, old, "text", new)

    def _api_edit_message_reply_markup(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> Any:
        chat, old = self._editable(params)
        markup = self._validate_markup(params.get("reply_markup"))
        new = replace(old, reply_markup=markup)
        return self._apply_edit(chat, old, "reply_markup", new)

    def _api_answer_callback_query(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._callback_ids or query_id in self.callback_answers:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self.callback_answers[query_id] = dict(params)
        return True

    def _api_send_chat_action(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        chat = self._chat_for(params)
        action = params.get("action")
        if action not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        chat.chat_actions.append(str(action))
        return True

    def _api_set_my_commands(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request('parameter "commands" is required')
        if len(commands) > 100:
            raise _bad_request("too many commands")
        for command in commands:
            name = str(command.get("command", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad_request("command description is empty or too long")
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self.commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _api_get_my_commands(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> list[JSONDict]:
        return self.bot_commands(params.get("scope"), params.get("language_code") or "")

    def _api_set_webhook(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        url = str(params.get("url") or "")
        if not url.startswith("https://"):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = dict(params)
        if params.get("allowed_updates") is not None:
            self._allowed_updates = list(params["allowed_updates"])
        if _as_bool(params.get("drop_pending_updates")):
            self._updates.clear()
        secret = params.get("secret_token")
        self.delivery.set(url, str(secret) if secret else None)
        self.notify()
        return True

    def _api_delete_webhook(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        self.webhook = {"url": ""}
        self.delivery.set("", None)
        if _as_bool(params.get("drop_pending_updates")):
            self._updates.clear()
        return True

    def _api_get_file(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        stored = self.files.get(str(params.get("file_id", "")))
        if stored is None:
            raise _bad_request("invalid file_id")
        if stored.file_size > GET_FILE_LIMIT:
            raise _bad_request("file is too big")
        return stored.as_file()

    def _api_delete_message(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        chat = self._chat_for(params, sending=False)
        message_id = self._message_id(params)
        self._delete(chat, message_id)
        return True

    def _api_delete_messages(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        chat = self._chat_for(params, sending=False)
        for message_id in params.get("message_ids") or []:
            with contextlib.suppress(ApiError):  # deleteMessages skips what it cannot delete
                self._delete(chat, int(message_id))
        return True

    def _delete(self, chat: ChatState, message_id: int) -> None:
        if chat.find(message_id) is None:
            raise _bad_request("message to delete not found")
        if message_id in chat.current:
            chat.current[message_id] = replace(chat.current[message_id], deleted=True)
        else:
            chat.person_messages.pop(message_id)
        chat.deleted.append(message_id)

    def _api_pin_chat_message(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        chat = self._chat_for(params)
        message_id = self._message_id(params)
        if chat.find(message_id) is None:
            raise _bad_request("message to pin not found")
        if message_id in chat.pinned:
            chat.pinned.remove(message_id)
        chat.pinned.append(message_id)
        return True

    def _api_unpin_chat_message(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        chat = self._chat_for(params)
        if params.get("message_id") is None:
            if chat.pinned:
                chat.pinned.pop()
            return True
        message_id = self._message_id(params)
        if message_id not in chat.pinned:
            raise _bad_request("message to unpin not found")
        chat.pinned.remove(message_id)
        return True


def media_json(
    kind: str, stored: StoredFile, extra: JSONDict | None = None
) -> JSONDict | list[JSONDict]:
    """The Telegram object for a stored file sent as ``kind`` (Voice, Document, PhotoSize...)."""
    extra = extra or {}
    ids = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
    size = {"file_size": stored.file_size}
    duration = int(extra.get("duration") or 1)
    if kind == "photo":
        return [
            {**ids, "file_id": f"{stored.file_id}-s", "width": 90, "height": 90, **size},
            {**ids, "width": int(extra.get("width") or 800), "height": 600, **size},
        ]
    if kind == "sticker":
        return {
            **ids,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": extra.get("emoji") or "👍",
            **size,
        }
    if kind == "video_note":
        return {**ids, "length": int(extra.get("length") or 240), "duration": duration, **size}
    result: JSONDict = {**ids, **size}
    if stored.mime_type:
        result["mime_type"] = stored.mime_type
    if kind == "voice":
        result["duration"] = duration
        return result
    if stored.filename:
        result["file_name"] = stored.filename
    if kind == "audio":
        result["duration"] = duration
        for key in ("title", "performer"):
            if extra.get(key):
                result[key] = extra[key]
    elif kind in ("video", "animation"):
        result["duration"] = duration
        result["width"] = int(extra.get("width") or 640)
        result["height"] = int(extra.get("height") or 360)
    return result
