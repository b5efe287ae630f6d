"""Small helpers every flow uses: the person's row, their time zone, safe replies."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from telegram import CallbackQuery, Message, Update
from telegram.error import TelegramError
from telegram.ext import CommandHandler, filters

from bot.context import BotContext
from bot.errors import NoPersonError
from bot.timespec import load_zone, localize
from storage.models import User
from storage.users import UserRepository

logger = logging.getLogger(__name__)

# What a conversation state may take: new messages only. An edit is never an answer (it has
# its own meaning, see handlers/edits.py), so every state and command filters on these.
NEW = filters.UpdateType.MESSAGE
NEW_TEXT = NEW & filters.TEXT & ~filters.COMMAND
AUDIO_DOCUMENT = filters.Document.AUDIO | filters.Document.MimeType("application/ogg")
AUDIO_MESSAGE = filters.VOICE | filters.AUDIO | filters.VIDEO_NOTE | AUDIO_DOCUMENT
NEW_AUDIO = NEW & AUDIO_MESSAGE
# photos, stickers, other files...: neither words nor a command
NEW_OTHER = NEW & ~filters.TEXT & ~filters.COMMAND & ~AUDIO_MESSAGE & ~filters.StatusUpdate.ALL


def command(
    name: str, callback: Callable[[Update, BotContext], Coroutine[Any, Any, Any]]
) -> CommandHandler[BotContext, Any]:
    """A CommandHandler for new messages only (PTB's default also fires on an edited command)."""
    return CommandHandler(name, callback, filters=NEW)


async def ensure_user(update: Update, context: BotContext) -> User:
    """Returns (creating on first contact) the row of the person behind this update."""
    tg_user = update.effective_user
    chat = update.effective_chat
    if tg_user is None or chat is None:  # the guard stops these before any flow
        raise NoPersonError(update.update_id)
    async with context.db() as session, session.begin():
        return await UserRepository(session).get_or_create(
            tg_user.id, chat.id, context.settings.default_timezone
        )


def zone_of(user: User) -> tzinfo:
    """The person's time zone (falls back to UTC if a stored name stopped resolving)."""
    try:
        return load_zone(user.timezone)
    except ValueError:
        return UTC


def last_therapy(user: User, now: datetime) -> tuple[date, datetime] | None:
    """The local date and naive UTC start of the person's most recent therapy session.

    Worked out from the therapy weekday and time (today only once the session has started);
    None without a fixed therapy day.

    Args:
        user: the person's row (therapy weekday and time, zone).
        now: aware current time, the same reading the caller dates everything else by.
    """
    if user.therapy_weekday is None:
        return None
    at = user.therapy_time or time(0)
    now = now.astimezone(zone_of(user))
    back = (now.weekday() - user.therapy_weekday) % 7
    if back == 0 and now.time() < at:
        back = 7
    day = now.date() - timedelta(days=back)
    return day, localize(day, at, zone_of(user)).replace(tzinfo=None)


def local_now(user: User) -> datetime:
    """Aware current time in the person's time zone."""
    return datetime.now(zone_of(user))


async def reply(update: Update, text: str, **kwargs: object) -> Message | None:
    """Replies in the chat of this update; a Telegram failure is logged, never raised."""
    chat = update.effective_chat
    if chat is None:
        return None
    try:
        return await chat.send_message(text, **kwargs)  # type: ignore[arg-type]
    except TelegramError as exc:
        logger.warning("reply failed in chat %s: %s", chat.id, type(exc).__name__)
        return None


async def answer_query(query: CallbackQuery | None, text: str | None = None) -> None:
    """Answers a button press (stops the client's spinner); a failure is logged, never raised."""
    if query is None:
        return
    try:
        await query.answer(text)
    except TelegramError as exc:
        logger.info("answerCallbackQuery failed: %s", type(exc).__name__)
