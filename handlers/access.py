"""Gatekeeping before any flow runs: private chats only, and the optional allow-list."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot import texts
from bot.context import BetweenApp, BotContext
from handlers.common import reply

logger = logging.getLogger(__name__)

JOINED = (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR)


async def guard(update: Update, context: BotContext) -> None:
    """Stops updates from groups and from people outside ALLOWED_USER_IDS; stores nothing."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        raise ApplicationHandlerStop  # channel posts, polls...: nothing a flow handles
    allowed = context.settings.allowed_user_ids
    if allowed and user.id not in allowed:
        logger.info("update %s from a user outside the allow-list", update.update_id)
        try:  # one line, and never the error handler's "what you sent is saved"
            if update.callback_query:
                await update.callback_query.answer(texts.NOT_ALLOWED)
            elif chat.type == ChatType.PRIVATE and update.message:
                await update.message.reply_text(texts.NOT_ALLOWED)
        except TelegramError as exc:
            logger.info("could not answer update %s: %s", update.update_id, type(exc).__name__)
        raise ApplicationHandlerStop
    if chat.type != ChatType.PRIVATE:
        member = update.my_chat_member
        added = member is not None and member.new_chat_member.status in JOINED
        command = bool(update.message and (update.message.text or "").startswith("/"))
        if added or command:  # say so when added to a group, and to commands there
            await reply(update, texts.PRIVATE_ONLY)
        raise ApplicationHandlerStop


def register(application: BetweenApp) -> None:
    """Runs the guard before every other handler group."""
    application.add_handler(TypeHandler(Update, guard), group=-10)
