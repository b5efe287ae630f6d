"""The Later buttons under a ping or the evening prompt (`sz:`): snooze it, or say why not.

bot/jobs/snooze.py validates the press against the presser's own rows, stores the snooze and
schedules it; this module answers: the message becomes "I'll send this again at 15:40", a
"Tonight" past the evening time loses that button, and a stale or forged button gets a line
saying so.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot import texts
from bot.context import BetweenApp, BotContext
from bot.jobs import snooze
from bot.telegram_io import edit_shown
from bot.views import SNOOZE_PREFIX, back_at
from handlers.common import answer_query, ensure_user

logger = logging.getLogger(__name__)

REFUSALS = {
    snooze.Outcome.NO_TONIGHT: texts.SNOOZE_NO_TONIGHT,
    snooze.Outcome.STALE: texts.SNOOZE_STALE,
    snooze.Outcome.WRITTEN: texts.SNOOZE_WRITTEN,
    snooze.Outcome.GONE: texts.TRG_GONE,
}


async def later_button(update: Update, context: BotContext) -> None:
    """Snoozes the ping or evening prompt whose Later button was pressed."""
    query = update.callback_query
    if query is None:
        return
    user = await ensure_user(update, context)
    pressed = await snooze.press(context.application, user.id, query.data or "")
    if pressed.outcome is snooze.Outcome.SNOOZED and pressed.due is not None:
        when = back_at(pressed.due, pressed.tz, datetime.now(UTC))
        await answer_query(query, texts.SNOOZED_NOTE.format(when=when))
        await edit_shown(query.message, texts.SNOOZED.format(when=when), reply_markup=None)
        return
    logger.info("snooze button of user %s refused: %s", user.id, pressed.outcome.value)
    await answer_query(query, REFUSALS.get(pressed.outcome, texts.TRG_GONE))
    if pressed.keyboard is not None:  # "tonight" has passed: the same buttons without it
        await edit_shown(query.message, reply_markup=pressed.keyboard)


def register(application: BetweenApp) -> None:
    application.add_handler(CallbackQueryHandler(later_button, pattern=f"^{SNOOZE_PREFIX}"))
