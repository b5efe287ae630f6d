"""A person talking to the bot through the test server: sends updates, reads replies.

Sending methods are plain (sync) calls that queue an update and return a ``Sent``; awaiting the
result is allowed too (``await alice.send_text("hi")``). Reading methods are async and wait on
the server, never by polling with sleeps.
"""

# ruff: noqa: ASYNC109 - a timeout= argument reads better in tests than asyncio.timeout blocks

from __future__ import annotations

import io
import os
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .telegram_server import (
    BotEdit,
    BotMessage,
    ChatState,
    JSONDict,
    StoredFile,
    command_entities,
    media_json,
)

if TYPE_CHECKING:
    from .telegram_server import TelegramTestServer

DataSource = bytes | bytearray | str | os.PathLike[str]


@dataclass
class Sent:
    """The update a person caused; awaitable so ``await person.send_text(...)`` also works."""

    update: JSONDict

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])

    @property
    def message(self) -> JSONDict | None:
        return self.update.get("message") or self.update.get("edited_message")

    @property
    def message_id(self) -> int | None:
        message = self.message
        return int(message["message_id"]) if message else None

    @property
    def callback_query_id(self) -> str | None:
        query = self.update.get("callback_query")
        return str(query["id"]) if query else None

    @property
    def file_id(self) -> str | None:
        """The file_id of the voice, audio, document, ... in the message, if any."""
        message = self.message or {}
        for kind in ("voice", "audio", "document", "video", "video_note", "sticker"):
            if kind in message:
                return str(message[kind]["file_id"])
        if "photo" in message:
            return str(message["photo"][-1]["file_id"])
        return None

    def __await__(self) -> Generator[Any, None, Sent]:
        return self._done().__await__()

    async def _done(self) -> Sent:
        return self


@dataclass
class _Cursor:
    messages: int = 0
    edits: int = 0
    actions: int = 0


def _read(data: DataSource) -> bytes:
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    return Path(data).read_bytes()


def _probe_duration(data: bytes) -> int:
    """Seconds of audio/video as a Telegram client would report; 1 when it can't tell."""
    try:
        import av

        with av.open(io.BytesIO(data)) as container:
            if container.duration:
                return max(1, round(container.duration / av.time_base))
    except Exception:
        pass
    return 1


@dataclass
class Person:
    """A Telegram user with a private chat (chat.id == user.id) on a TelegramTestServer."""

    server: TelegramTestServer = field(repr=False)
    user_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    _cursors: dict[int, _Cursor] = field(default_factory=dict, init=False, repr=False)

    # ----------------------------------------------------------------- identity

    @property
    def user(self) -> JSONDict:
        user: JSONDict = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    @property
    def chat_id(self) -> int:
        return self.user_id

    @property
    def chat(self) -> ChatState:
        return self.server.chat(self.user_id)

    # ----------------------------------------------------------------- sending

    def _message(self, content: JSONDict, *, chat_id: int | None = None, **extra: Any) -> Sent:
        chat = self.server.chat(self.user_id if chat_id is None else chat_id)
        message: JSONDict = {
            "message_id": chat.next_message_id(),
            "from": self.user,
            "chat": chat.info,
            "date": self.server.date(),
            **content,
            **extra,
        }
        chat.person_messages[message["message_id"]] = message
        return Sent(self.server.add_update("message", message))

    def _reply(self, reply_to: int | BotMessage | None, chat_id: int | None = None) -> JSONDict:
        if reply_to is None:
            return {}
        message_id = reply_to.message_id if isinstance(reply_to, BotMessage) else reply_to
        chat = self.server.chat(self.user_id if chat_id is None else chat_id)
        found = chat.find(message_id)
        if found is None:
            raise LookupError(f"no message {message_id} in chat {chat.id} to reply to")
        return {"reply_to_message": {k: v for k, v in found.items() if k != "reply_to_message"}}

    def send_text(
        self,
        text: str,
        *,
        reply_to: int | BotMessage | None = None,
        entities: list[JSONDict] | None = None,
        chat_id: int | None = None,
    ) -> Sent:
        """Sends text; a leading /command gets its bot_command entity."""
        content: JSONDict = {"text": text}
        found = command_entities(text) if entities is None else entities
        if found:
            content["entities"] = found
        return self._message(content, chat_id=chat_id, **self._reply(reply_to, chat_id))

    def send_command(self, command: str, *args: str) -> Sent:
        """``send_command("/start")`` or ``send_command("/recall", "money")``."""
        text = " ".join(("/" + command.lstrip("/"), *args))
        return self.send_text(text)

    def command(self, name: str, *args: str) -> Sent:
        """``command("recall", "money")`` sends "/recall money"."""
        return self.send_command(name, *args)

    def _send_file(
        self,
        kind: str,
        data: DataSource | None,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
        file_size: int | None = None,
        caption: str | None = None,
        reply_to: int | BotMessage | None = None,
        **extra: Any,
    ) -> Sent:
        raw = _read(data) if data is not None else b"\x00fake-" + kind.encode()
        stored = self.server.store_file(
            raw, kind=kind, filename=filename, mime_type=mime_type, file_size=file_size
        )
        if kind in ("voice", "audio", "video", "video_note") and extra.get("duration") is None:
            extra["duration"] = _probe_duration(raw)
        content: JSONDict = {kind: media_json(kind, stored, extra)}
        if caption:
            content["caption"] = caption
        return self._message(content, **self._reply(reply_to))

    def send_voice(
        self,
        data: DataSource,
        *,
        duration: int | None = None,
        mime_type: str = "audio/ogg",
        file_size: int | None = None,
        caption: str | None = None,
        reply_to: int | BotMessage | None = None,
    ) -> Sent:
        """A voice memo; ``file_size``/``duration`` override what the bytes say (fake 25 MB)."""
        return self._send_file(
            "voice",
            data,
            mime_type=mime_type,
            file_size=file_size,
            caption=caption,
            reply_to=reply_to,
            duration=duration,
        )

    def send_audio(
        self,
        data: DataSource,
        *,
        duration: int | None = None,
        mime_type: str = "audio/mpeg",
        file_name: str = "audio.mp3",
        file_size: int | None = None,
        title: str | None = None,
        performer: str | None = None,
        caption: str | None = None,
    ) -> Sent:
        return self._send_file(
            "audio",
            data,
            filename=file_name,
            mime_type=mime_type,
            file_size=file_size,
            caption=caption,
            duration=duration,
            title=title,
            performer=performer,
        )

    def send_video_note(
        self,
        data: DataSource,
        *,
        duration: int | None = None,
        length: int = 240,
        file_size: int | None = None,
    ) -> Sent:
        return self._send_file(
            "video_note", data, file_size=file_size, duration=duration, length=length
        )

    def send_video(
        self,
        data: DataSource,
        *,
        duration: int | None = None,
        mime_type: str = "video/mp4",
        file_name: str = "video.mp4",
        file_size: int | None = None,
        caption: str | None = None,
    ) -> Sent:
        return self._send_file(
            "video",
            data,
            filename=file_name,
            mime_type=mime_type,
            file_size=file_size,
            caption=caption,
            duration=duration,
        )

    def send_document(
        self,
        data: DataSource,
        *,
        file_name: str = "document.txt",
        mime_type: str | None = "text/plain",
        file_size: int | None = None,
        caption: str | None = None,
    ) -> Sent:
        return self._send_file(
            "document",
            data,
            filename=file_name,
            mime_type=mime_type,
            file_size=file_size,
            caption=caption,
        )

    def send_photo(self, data: DataSource | None = None, *, caption: str | None = None) -> Sent:
        return self._send_file("photo", data, mime_type="image/jpeg", caption=caption)

    def send_sticker(self, emoji: str = "👍") -> Sent:
        return self._send_file("sticker", None, mime_type="image/webp", emoji=emoji)

    def forward_text(
        self, text: str, *, origin_name: str = "Bob", origin_user_id: int | None = None
    ) -> Sent:
        """A forwarded text; a hidden_user origin unless ``origin_user_id`` is given."""
        origin: JSONDict = {"date": self.server.date() - 3600}
        if origin_user_id is None:
            origin |= {"type": "hidden_user", "sender_user_name": origin_name}
        else:
            origin |= {
                "type": "user",
                "sender_user": {"id": origin_user_id, "is_bot": False, "first_name": origin_name},
            }
        return self._message({"text": text}, forward_origin=origin)

    def edit_message(self, message_id: int | Sent, new_text: str) -> Sent:
        """Edits one of the person's own messages (an ``edited_message`` update)."""
        if isinstance(message_id, Sent):
            message_id = message_id.message_id or 0
        chat = self.chat
        original = chat.person_messages.get(message_id)
        if original is None:
            raise LookupError(f"{self.first_name} has no message {message_id} to edit")
        edited = {k: v for k, v in original.items() if k not in ("entities", "text")}
        edited["text"] = new_text
        entities = command_entities(new_text)
        if entities:
            edited["entities"] = entities
        edited["edit_date"] = self.server.date()
        chat.person_messages[message_id] = edited
        return Sent(self.server.add_update("edited_message", edited))

    def send_group_text(
        self, text: str, *, chat_id: int = -4001, title: str = "Test group"
    ) -> Sent:
        """Text in a group chat (type "group", negative id) that this person is in."""
        self.server.group(chat_id, title)
        return self.send_text(text, chat_id=chat_id)

    def press(
        self, button: str, message: BotMessage | int | None = None, *, chat_id: int | None = None
    ) -> Sent:
        """Presses the inline button whose text or callback_data is ``button``.

        Looks at ``message`` (its current state), else at the bot's messages newest first.
        """
        chat = self.server.chat(self.user_id if chat_id is None else chat_id)
        if message is not None:
            message_id = message.message_id if isinstance(message, BotMessage) else message
            candidates = [chat.current[message_id]]
        else:
            candidates = [m for m in reversed(list(chat.current.values()))]
        for candidate in candidates:
            if candidate.deleted:
                continue
            for row in candidate.buttons:
                for text, data in row:
                    if data is not None and button in (text, data):
                        return self.press_raw(data, candidate.message_id, chat_id=chat.id)
        available = [m.buttons for m in candidates if m.buttons and not m.deleted]
        raise LookupError(f"no inline button {button!r}; buttons: {available}")

    def press_raw(self, callback_data: str, message_id: int, *, chat_id: int | None = None) -> Sent:
        """A callback_query with arbitrary data, e.g. tampered or for a vanished message."""
        chat = self.server.chat(self.user_id if chat_id is None else chat_id)
        found = chat.find(message_id)
        message = found or {"chat": chat.info, "message_id": message_id, "date": 0}
        query = {
            "id": self.server.new_callback_query_id(self.user_id),
            "from": self.user,
            "message": message,
            "chat_instance": str(abs(hash((self.server.bot_id, chat.id)))),
            "data": callback_data,
        }
        return Sent(self.server.add_update("callback_query", query))

    def block_bot(self) -> Sent:
        """Blocks the bot: later sends get 403, and a my_chat_member update arrives."""
        self.chat.blocked = True
        return self._member_update("member", "kicked")

    def unblock_bot(self) -> Sent:
        self.chat.blocked = False
        return self._member_update("kicked", "member")

    def _member_update(self, old: str, new: str) -> Sent:
        bot = self.server.bot_user
        change = {
            "chat": self.chat.info,
            "from": self.user,
            "date": self.server.date(),
            "old_chat_member": {"status": old, "user": bot},
            "new_chat_member": {"status": new, "user": bot}
            | ({"until_date": 0} if new == "kicked" else {}),
        }
        return Sent(self.server.add_update("my_chat_member", change))

    # ----------------------------------------------------------------- receiving

    def _cursor(self, chat_id: int | None) -> tuple[ChatState, _Cursor]:
        cid = self.user_id if chat_id is None else chat_id
        return self.server.chat(cid), self._cursors.setdefault(cid, _Cursor())

    async def next_message(
        self, timeout: float = 10.0, *, chat_id: int | None = None
    ) -> BotMessage:
        """The next bot message in this chat not returned before, as it was sent."""
        chat, cursor = self._cursor(chat_id)
        if not await self.server.wait_for(lambda: len(chat.sent) > cursor.messages, timeout):
            seen = [m.text for m in chat.sent]
            raise TimeoutError(
                f"no new bot message in chat {chat.id} within {timeout}s; all so far: {seen}"
            )
        message = chat.sent[cursor.messages]
        cursor.messages += 1
        return message

    async def next_edit(self, timeout: float = 10.0, *, chat_id: int | None = None) -> BotEdit:
        """The next edit the bot made in this chat (text, caption or reply markup)."""
        chat, cursor = self._cursor(chat_id)
        if not await self.server.wait_for(lambda: len(chat.edits) > cursor.edits, timeout):
            raise TimeoutError(f"no new edit in chat {chat.id} within {timeout}s")
        edit = chat.edits[cursor.edits]
        cursor.edits += 1
        return edit

    async def next_chat_action(self, timeout: float = 10.0, *, chat_id: int | None = None) -> str:
        chat, cursor = self._cursor(chat_id)
        if not await self.server.wait_for(lambda: len(chat.chat_actions) > cursor.actions, timeout):
            raise TimeoutError(f"no chat action in chat {chat.id} within {timeout}s")
        action = chat.chat_actions[cursor.actions]
        cursor.actions += 1
        return action

    async def no_message_within(self, seconds: float = 1.0, *, chat_id: int | None = None) -> bool:
        """True when no unread bot message arrives within ``seconds`` (consumes nothing)."""
        chat, cursor = self._cursor(chat_id)
        arrived = await self.server.wait_for(lambda: len(chat.sent) > cursor.messages, seconds)
        return not arrived

    def take_all(self, *, chat_id: int | None = None) -> list[BotMessage]:
        """Returns the unread bot messages and marks them read."""
        chat, cursor = self._cursor(chat_id)
        unread = chat.sent[cursor.messages :]
        cursor.messages = len(chat.sent)
        return unread

    @property
    def messages(self) -> list[BotMessage]:
        """Every bot message in the private chat so far, as sent (edits not applied)."""
        return list(self.chat.sent)

    @property
    def edits(self) -> list[BotEdit]:
        return list(self.chat.edits)

    @property
    def chat_actions(self) -> list[str]:
        return list(self.chat.chat_actions)

    @property
    def latest(self) -> BotMessage | None:
        """The newest bot message that is not deleted, in its current (edited) state."""
        live = [m for m in self.chat.current.values() if not m.deleted]
        return live[-1] if live else None

    def current(self, message_id: int | BotMessage) -> BotMessage:
        """The current state of a bot message (after edits; ``deleted`` set if deleted)."""
        if isinstance(message_id, BotMessage):
            message_id = message_id.message_id
        return self.chat.current[message_id]

    @property
    def callback_answers(self) -> list[JSONDict]:
        """answerCallbackQuery params for this person's button presses, in answer order."""
        return [
            params
            for query_id, params in self.server.callback_answers.items()
            if self.server._callback_ids.get(query_id) == self.user_id
        ]

    def file(self, file_id: str) -> StoredFile:
        return self.server.files[file_id]
