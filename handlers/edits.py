"""Edited messages: an edit is never a new answer, but it has a meaning of its own.

- An edit of a typed capture changes the stored text and its card.
- An edit of a typed reflection answer changes that answer while the draft is open (once
  the paragraph is saved, one line says the edit changes nothing).
- Any other edit of text (a time zone, a setting, a situation, a command...) was already
  answered: one line says so. Edits without words (live locations move by editing) are
  left alone.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import MessageHandler, filters

from bot import texts
from bot.capturing import show_card
from bot.context import BetweenApp, BotContext
from handlers import reflection
from handlers.common import reply
from storage.captures import CaptureRepository
from storage.models import CaptureKind
from storage.sessions import SessionRepository

logger = logging.getLogger(__name__)


async def capture_edited(update: Update, context: BotContext) -> bool:
    """Follows an edit of a typed capture; False when the message is no capture."""
    message = update.edited_message
    user = update.effective_user
    if message is None or message.text is None or user is None:
        return False
    async with context.db() as s, s.begin():
        repo = CaptureRepository(s)
        capture = await repo.by_message(user.id, message.chat_id, message.message_id)
        if capture is None or capture.kind != CaptureKind.TEXT:
            return False
        capture = await repo.replace_text(user.id, capture.id, message.text)
        session = await SessionRepository(s).get(user.id, capture.session_id) if capture else None
    if capture is None or session is None:
        return False
    logger.info("capture %s edited by user %s (%d chars)", capture.id, user.id, len(message.text))
    await show_card(context.application, capture, session, capture.reply_message_id)
    return True


async def on_edit(update: Update, context: BotContext) -> None:
    """Gives an edited message its meaning (see the module docstring)."""
    message = update.edited_message
    if message is None or not (message.text or message.caption):
        return
    if await capture_edited(update, context) or await reflection.answer_edited(update, context):
        return
    await reply(update, texts.EDIT_NOT_APPLIED)


def register(application: BetweenApp) -> None:
    """Takes every edited message; no conversation state does (they take new messages only)."""
    application.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, on_edit))
