"""How a capture looks in the chat: its card (the words, and which session it joined) and buttons.

Pure formatting shared by the capture handlers and the capture service (bot/capturing.py):
★ what landed / ✎ fix / 🗑 delete under each capture, the delete confirm, and the kind
sentence for a memo that could not be heard.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import texts, voice
from storage.models import Capture, CaptureKind, TherapySession

PREFIX = "cap:"  # callback data: cap:{land|fix|del|delok|keep}:{capture id}
ECHO_LIMIT = 3500  # leaves room for the "Saved to..." line under Telegram's 4096


def session_label(session: TherapySession) -> str:
    """Tue 24 Nov."""
    day = session.local_date
    return texts.SESSION_LABEL.format(weekday=f"{day:%a}", day=day.day, month=f"{day:%b}")


def echo(text: str) -> str:
    """The text as it fits in one Telegram message (it is stored whole)."""
    if len(text) <= ECHO_LIMIT:
        return text
    return text[:ECHO_LIMIT].rstrip() + texts.ECHO_CUT.format(length=len(text))


def card_text(capture: Capture, session: TherapySession, header: str | None = None) -> str:
    """The message that shows a capture: its words, and which session it was saved to."""
    saved = texts.SAVED_TO.format(session=session_label(session))
    body = (
        texts.CAPTURE_CARD.format(text=echo(capture.text), saved=saved) if capture.text else saved
    )
    return f"{header}\n\n{body}" if header else body


def card_keyboard(capture: Capture) -> InlineKeyboardMarkup:
    """★ / ✎ / 🗑 for a capture with words; ✎ / 🗑 for one without (or a mark)."""
    fix_label = texts.BUTTON_ADD_NOTE if capture.kind == CaptureKind.MARK else texts.BUTTON_FIX
    rows: list[list[InlineKeyboardButton]] = []
    if capture.text and capture.kind != CaptureKind.MARK:
        land = texts.BUTTON_LANDED if capture.landed else texts.BUTTON_LAND
        rows.append([InlineKeyboardButton(land, callback_data=f"{PREFIX}land:{capture.id}")])
    rows.append(
        [
            InlineKeyboardButton(fix_label, callback_data=f"{PREFIX}fix:{capture.id}"),
            InlineKeyboardButton(texts.BUTTON_DELETE, callback_data=f"{PREFIX}del:{capture.id}"),
        ]
    )
    return InlineKeyboardMarkup(rows)


def confirm_keyboard(capture_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.BUTTON_CONFIRM_DELETE, callback_data=f"{PREFIX}delok:{capture_id}"
                ),
                InlineKeyboardButton(texts.BUTTON_KEEP, callback_data=f"{PREFIX}keep:{capture_id}"),
            ]
        ]
    )


def failure_text(capture: Capture, max_seconds: int) -> str:
    """The kind sentence for the error code stored on a capture."""
    return voice.failure_text(
        capture.error, texts.CAPTURE_NOT_HEARD, max_seconds=max_seconds, duration=capture.duration
    )
