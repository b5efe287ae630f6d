"""The demo's Bot API: the end-to-end tests' server, keeping one ordered timeline of the chat.

The test server keeps sent messages and edits in separate lists (tests read them apart); a
person reads one chat, so the demo needs them in the order they happened: a transcript that
replaces "transcribing…" after the card below it was sent must show up after that card.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tests.support.telegram_server import (
    BotMessage,
    ChatState,
    JSONDict,
    StoredFile,
    TelegramTestServer,
    UploadedFile,
)

TOKEN = "424242:DEMO-no-token-needed"  # the only token this server accepts; never a real one


@dataclass(frozen=True)
class Event:
    """One thing the person sees happen: a new message, an edit, a deletion, a tap's answer.

    `message` is the bot message as it was right then (for an edit: the edited state);
    `text` is a tap's answer ("toast").
    """

    kind: Literal["sent", "edited", "deleted", "toast"]
    message: BotMessage | None = None
    edit: str = ""  # for "edited": "text", "caption" or "reply_markup"
    text: str = ""


class DemoServer(TelegramTestServer):
    """`TelegramTestServer` that also appends every visible change to `timeline`, in order."""

    def __init__(self) -> None:
        super().__init__(TOKEN, bot_username="between_demo_bot")
        self.timeline: list[Event] = []

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
        raw = super()._store_bot_message(chat, kind, params, content, text, entities, media)
        self._record(Event("sent", chat.current[int(raw["message_id"])]))
        return raw

    def _apply_edit(self, chat: ChatState, old: BotMessage, kind: str, new: BotMessage) -> JSONDict:
        raw = super()._apply_edit(chat, old, kind, new)
        self._record(Event("edited", new, edit=kind))
        return raw

    def _delete(self, chat: ChatState, message_id: int) -> None:
        super()._delete(chat, message_id)
        message = chat.current.get(message_id)
        if message is not None:
            self._record(Event("deleted", message))

    def _api_answer_callback_query(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        answered = super()._api_answer_callback_query(params, files)
        if params.get("text"):
            self._record(Event("toast", text=str(params["text"])))
        return answered

    def _record(self, event: Event) -> None:
        self.timeline.append(event)
        self.notify()
