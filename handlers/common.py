"""Small helpers every flow uses: the person's row, their time zone, safe replies."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, tzinfo

from telegram import Message, Update
from telegram.error import TelegramError

from bot.context import BotContext
from bot.timespec import load_zone
from storage.models import User
from storage.users import UserRepository

logger = logging.getLogger(__name__)


async def ensure_user(update: Update, context: BotContext) -> User:
    """Returns (creating on first contact) the row of the person behind this update."""
    tg_user = update.effective_user
    chat = update.effective_chat
    assert tg_user is not None and chat is not None
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
