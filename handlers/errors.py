"""The one error handler: log ids and the exception (never content), reassure the person."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, RetryAfter, TimedOut

from bot import texts
from bot.context import BetweenApp, BotContext
from handlers.common import reply

logger = logging.getLogger(__name__)

TRANSIENT = (RetryAfter, TimedOut, NetworkError)


async def on_error(update: object, context: BotContext) -> None:
    """Logs the failure with its traceback and tells the person their input is safe."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, TRANSIENT):
        # polling errors and failed sends: PTB retries polling by itself
        logger.warning("telegram unavailable (update %s): %s", update_id, type(error).__name__)
        return
    if isinstance(error, Forbidden):
        logger.info("update %s: the person blocked the bot", update_id)
        return
    logger.error(
        "error while handling update %s: %s",
        update_id,
        type(error).__name__,
        exc_info=error,
    )
    if isinstance(update, Update) and update.effective_chat is not None:
        await reply(update, texts.ERROR)


def register(application: BetweenApp) -> None:
    application.add_error_handler(on_error)
