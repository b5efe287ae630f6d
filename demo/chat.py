"""The chat as terminal lines: the bot's messages in order, their buttons numbered to pick.

Buttons are numbered per message; a bare number presses a button of the latest message
shown with buttons (where the person's eye is). The reply keyboard under the message field
(🔁 Recall) is offered as `k1`. A document the bot sends (the digest's PDF, /export) is
saved under the demo's folder and its path shown, as a Telegram client would download it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from demo.server import DemoServer, Event
from tests.support.telegram_server import BotMessage

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Style:
    """ANSI emphasis on a terminal, nothing in a pipe (or with NO_COLOR)."""

    on: bool

    def dim(self, text: str) -> str:
        return f"\x1b[2m{text}\x1b[0m" if self.on else text

    def bold(self, text: str) -> str:
        return f"\x1b[1m{text}\x1b[0m" if self.on else text


@dataclass
class ChatView:
    """Turns the server's timeline into lines, and remembers which buttons are on screen.

    Args:
        server: the demo's Bot API server.
        chat_id: the person's private chat.
        zone: the person's time zone right now (the bot's setting for them).
        files: the folder documents are saved to.
        style: emphasis, or none.
    """

    server: DemoServer
    chat_id: int
    zone: Callable[[], dt.tzinfo]
    files: Path
    style: Style
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (text, callback_data)
    buttons_on: int | None = None  # the message those buttons are on
    keyboard: list[str] = field(default_factory=list)  # reply keyboard button texts
    _seen: int = 0

    def has_news(self) -> bool:
        return self._seen < len(self.server.timeline)

    def news(self) -> list[str]:
        """Lines for everything that happened since the last call, in order."""
        lines: list[str] = []
        while self._seen < len(self.server.timeline):
            event = self.server.timeline[self._seen]
            self._seen += 1
            if event.message is None or event.message.chat_id == self.chat_id:
                lines.extend(self._lines(event))
        return lines

    def button(self, number: int) -> tuple[int, str] | None:
        """(message id, callback data) of button `number` on screen, or None."""
        if self.buttons_on is None or not 1 <= number <= len(self.buttons):
            return None
        return self.buttons_on, self.buttons[number - 1][1]

    def stamp(self, unix: int | float) -> str:
        local = dt.datetime.fromtimestamp(unix, dt.UTC).astimezone(self.zone())
        return f"{local:%a} {local.day} {local:%b %H:%M}"

    # ------------------------------------------------------------------ rendering

    def _lines(self, event: Event) -> list[str]:
        message = event.message
        if event.kind == "toast":
            return [self.style.dim(f"    ({event.text})")]
        assert message is not None  # every other event carries its message
        if event.kind == "deleted":
            if message.message_id == self.buttons_on:
                self._forget_buttons()
            return [self.style.dim(f"    (Between deleted its message «{_first_line(message)}»)")]
        if event.kind == "edited" and event.edit == "reply_markup":
            if not message.buttons:
                if message.message_id == self.buttons_on:
                    self._forget_buttons()
                return []
            label = f"new buttons on «{_first_line(message)}»"
            return [self._head(message.edit_date or message.date, label), *self._buttons(message)]
        label = "edited" if event.kind == "edited" else ""
        lines = [self._head(message.edit_date or message.date, label)]
        if message.document is not None:
            lines.append(self._saved(message))
        lines.extend("    " + line for line in (message.text or "").splitlines() or [""])
        lines.extend(self._buttons(message))
        lines.extend(self._keyboard(message))
        return [line for line in lines if line.strip()]

    def _head(self, unix: int | float, label: str) -> str:
        who = self.style.bold("Between") + (f" ({label})" if label else "")
        return f"{self.style.dim('[' + self.stamp(unix) + ']')} {who}:"

    def _buttons(self, message: BotMessage) -> list[str]:
        pressable = [(text, data) for row in message.buttons for text, data in row if data]
        if not pressable:
            if message.message_id == self.buttons_on:
                self._forget_buttons()
            return []
        self.buttons, self.buttons_on = pressable, message.message_id
        lines, number = [], 0
        for row in message.buttons:
            cells = []
            for text, data in row:
                if data:
                    number += 1
                    cells.append(f"{self.style.bold(f'[{number}]')} {text}")
            if cells:
                lines.append("    " + "   ".join(cells))
        return lines

    def _keyboard(self, message: BotMessage) -> list[str]:
        markup = message.reply_markup or {}
        if markup.get("remove_keyboard"):
            self.keyboard = []
            return [self.style.dim("    (the keyboard under the message field is gone)")]
        texts = [text for row in message.keyboard for text in row]
        if not texts or texts == self.keyboard:
            return []
        self.keyboard = texts
        keys = "   ".join(f"{self.style.bold(f'[k{i}]')} {t}" for i, t in enumerate(texts, 1))
        return [f"    under the message field: {keys}"]

    def _saved(self, message: BotMessage) -> str:
        stored = message.document
        assert stored is not None
        self.files.mkdir(parents=True, exist_ok=True)
        name = _UNSAFE.sub("_", stored.filename or f"file{Path(stored.file_path).suffix}")
        path = self.files / f"{message.message_id:04d}-{name}"
        path.write_bytes(stored.data)
        size = f"{len(stored.data) / 1024:.0f} KB"
        return f"    📄 {stored.filename or name} ({size}), saved to {path}"

    def _forget_buttons(self) -> None:
        self.buttons, self.buttons_on = [], None


def _first_line(message: BotMessage, width: int = 48) -> str:
    line = (message.text or "").strip().splitlines()[0] if (message.text or "").strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"
