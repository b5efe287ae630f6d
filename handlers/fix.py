"""✎ Fix: the person types a capture as it should read, and its card shows it again.

A conversation with one state (FIXING), entered by the ✎ button under a capture's card
(bot/capture_views.py). It takes new typed text only; a memo sent meanwhile is kept as a
capture of its own and the question asked again; `/cancel` leaves the capture as it was,
and a ✎ left open for FIX_TIMEOUT ends, so a later capture is not taken as the correction.
Registered before capture's other handlers (app.py's order).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import texts
from bot.capture_views import PREFIX
from bot.capturing import show_card
from bot.context import BetweenApp, BotContext
from bot.telegram_io import edit_message
from handlers.capture import CALLBACK, on_audio
from handlers.common import NEW, NEW_AUDIO, NEW_TEXT, answer_query, command, reply
from storage.captures import CaptureRepository
from storage.sessions import SessionRepository

logger = logging.getLogger(__name__)

FIXING = 0  # waiting for the corrected text
FIX_TIMEOUT = timedelta(minutes=30)  # a forgotten ✎ must not swallow next week's capture


async def fix_start(update: Update, context: BotContext) -> int:
    """Asks for the corrected text of a capture."""
    query = update.callback_query
    match = CALLBACK.match(query.data or "") if query is not None else None
    capture = None
    if query is not None and match is not None:
        async with context.db() as s:
            capture = await CaptureRepository(s).get(query.from_user.id, int(match.group(2)))
    if capture is None:
        await answer_query(query, texts.GONE)
        return ConversationHandler.END
    await answer_query(query)
    context.person["fix_capture"] = capture.id
    await reply(update, texts.ASK_FIX)
    return FIXING


async def fix_text(update: Update, context: BotContext) -> int:
    """Replaces the capture's text with the correction and shows it again."""
    message = update.effective_message
    user = update.effective_user
    if message is None or not message.text or user is None:
        return FIXING
    capture_id = context.person.pop("fix_capture", None)
    capture = session = None
    if isinstance(capture_id, int):
        async with context.db() as s, s.begin():
            capture = await CaptureRepository(s).replace_text(user.id, capture_id, message.text)
            if capture is not None:
                session = await SessionRepository(s).get(user.id, capture.session_id)
    if capture is None or session is None:
        await reply(update, texts.GONE)
        return ConversationHandler.END
    logger.info("capture %s fixed by user %s (%d chars)", capture.id, user.id, len(message.text))
    old = capture.reply_message_id
    if old is not None:
        await edit_message(context.bot, capture.chat_id, old, reply_markup=None)
    await show_card(context.application, capture, session, header=texts.FIXED)
    return ConversationHandler.END


async def fix_got_audio(update: Update, context: BotContext) -> int:
    """Keeps a memo sent while fixing as a capture of its own, and asks for the text again."""
    await on_audio(update, context)
    await reply(update, texts.KEPT_INSTEAD)
    await reply(update, texts.ASK_FIX)
    return FIXING


async def fix_not_text(update: Update, context: BotContext) -> int:
    """Asks again for text when something else arrives while fixing."""
    await reply(update, texts.FIX_NEEDS_TEXT)
    return FIXING


async def fix_cancel(update: Update, context: BotContext) -> int:
    """Leaves the capture as it was."""
    context.person.pop("fix_capture", None)
    await reply(update, texts.FIX_CANCELLED)
    return ConversationHandler.END


async def fix_timeout(update: Update, context: BotContext) -> None:
    """Forgets a ✎ nobody finished, so a later capture is not taken as the correction."""
    context.person.pop("fix_capture", None)


def register(application: BetweenApp) -> None:
    """Adds the ✎ Fix conversation; it must come before capture's handlers."""
    application.add_handler(
        ConversationHandler(
            entry_points=[CallbackQueryHandler(fix_start, pattern=rf"^{PREFIX}fix:")],
            states={
                FIXING: [
                    MessageHandler(NEW_TEXT, fix_text),
                    command("cancel", fix_cancel),
                    MessageHandler(NEW_AUDIO, fix_got_audio),
                    MessageHandler(NEW & ~filters.COMMAND, fix_not_text),
                ],
                ConversationHandler.TIMEOUT: [TypeHandler(Update, fix_timeout)],
            },
            fallbacks=[command("cancel", fix_cancel)],
            name="capture_fix",
            allow_reentry=True,
            conversation_timeout=FIX_TIMEOUT,
        )
    )
