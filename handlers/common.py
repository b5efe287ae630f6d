"""Small helpers every flow uses: the person's row, their local time, safe replies."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import CallbackQuery, Message, Update
from telegram.error import TelegramError
from telegram.ext import CommandHandler, filters

from bot.clock import zone_of
from bot.context import BotContext
from bot.errors import NoPersonError
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


async def ensure_user(
    update: Update, context: BotContext, session: AsyncSession | None = None
) -> User:
    """Returns (creating on first contact) the row of the person behind this update.

    Args:
        update: the update whose sender it is.
        context: the handler's context.
        session: the update's transaction, when the flow has one open (else its own).
    """
    tg_user = update.effective_user
    chat = update.effective_chat
    if tg_user is None or chat is None:  # the guard stops these before any flow
        raise NoPersonError(update.update_id)
    if session is not None:
        return await UserRepository(session).get_or_create(
            tg_user.id, chat.id, context.settings.default_timezone
        )
    async with context.db() as own, own.begin():
        return await UserRepository(own).get_or_create(
            tg_user.id, chat.id, context.settings.default_timezone
        )


def local_now(user: User) -> datetime:
    """Aware current time in the person's time zone."""
    return datetime.now(zone_of(user))


async def reply(update: Update, text: str, **kwargs: object) -> Message | None:
    """Replies in the chat of this update; a Telegram failure is logged, never raised."""
    chat = update.effective_chat
    if chat is None:
        return None
    try:
        return await chat.send_message(text, **kwargs)  # type: ignore[arg-type]  # send_message's keywords
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
