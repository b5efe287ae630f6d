"""What no flow took: /cancel outside a conversation, unknown commands, wordless messages.

Registered last by app.py, after every flow, so each of these answers only what nothing
else answered.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot import texts
from bot.context import BetweenApp, BotContext
from handlers.common import NEW, answer_query, command, reply

logger = logging.getLogger(__name__)


async def nothing_to_cancel(update: Update, context: BotContext) -> None:
    """Answers /cancel outside any conversation."""
    await reply(update, texts.NOTHING_TO_CANCEL)


async def unknown_command(update: Update, context: BotContext) -> None:
    """Points to /help for a command no flow knows."""
    await reply(update, texts.UNKNOWN_COMMAND)


async def unsupported(update: Update, context: BotContext) -> None:
    """Says kindly what the bot can keep (stickers, photos, other files...)."""
    await reply(update, texts.UNSUPPORTED_MESSAGE)


async def stale_button(update: Update, context: BotContext) -> None:
    """Answers a button no flow took (old, forged or from a finished conversation)."""
    query = update.callback_query
    if query is None:
        return
    logger.info("unhandled button pressed by user %s", query.from_user.id)
    await answer_query(query, texts.STALE_BUTTON)


def register(application: BetweenApp) -> None:
    """Adds the answers for what no flow took; must come after every flow's handlers."""
    application.add_handler(command("cancel", nothing_to_cancel))
    application.add_handler(MessageHandler(NEW & filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(NEW & ~filters.StatusUpdate.ALL, unsupported))
    application.add_handler(CallbackQueryHandler(stale_button))
