"""Changing what the bot already said, safely: one way to edit a message, for every flow.

An edit that fails (the message is gone, too old, or Telegram is down for a moment) is
logged and never raised; "message is not modified" counts as done, since the message
already says exactly that. `or_send=True` sends the text as a new message when the edit
cannot be made, so the person still reads it. Also here: running slow work (hearing a memo)
without holding up the update loop.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, MaybeInaccessibleMessage, Message, Update
from telegram.error import BadRequest, TelegramError

from bot.context import BetweenApp

logger = logging.getLogger(__name__)


def _not_modified(exc: TelegramError) -> bool:
    return isinstance(exc, BadRequest) and "not modified" in exc.message.lower()


async def edit_message(
    bot: Bot,
    chat_id: int,
    message_id: int | None,
    text: str | None = None,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
    parse_mode: str | None = None,
    or_send: bool = False,
) -> int | None:
    """Edits a bot message's text and buttons (or only its buttons when `text` is None).

    Args:
        bot: the bot that sent the message.
        chat_id: the chat it is in.
        message_id: the message to edit; None with `or_send` just sends.
        text: the new text; None changes the buttons only.
        reply_markup: the buttons it shows afterwards (None removes them).
        parse_mode: e.g. "HTML" for the text.
        or_send: send `text` as a new message when the edit fails.

    Returns:
        The id of the message that now shows it (the edited one or the one sent), or None
        when neither worked. Never raises a TelegramError.
    """
    if message_id is not None:
        try:
            if text is None:
                await bot.edit_message_reply_markup(
                    chat_id=chat_id, message_id=message_id, reply_markup=reply_markup
                )
            else:
                await bot.edit_message_text(
                    text,
                    chat_id=chat_id,
                    message_id=message_id,
                    parse_mode=parse_mode,
                    reply_markup=reply_markup,
                )
            return message_id
        except TelegramError as exc:
            if _not_modified(exc):
                return message_id
            logger.info(
                "edit of message %s in chat %s failed: %s%s",
                message_id,
                chat_id,
                type(exc).__name__,
                "; sending anew" if or_send and text is not None else "",
            )
    if not or_send or text is None:
        return None
    try:
        sent = await bot.send_message(
            chat_id, text, parse_mode=parse_mode, reply_markup=reply_markup
        )
    except TelegramError as exc:
        logger.warning("send instead of an edit failed in chat %s: %s", chat_id, type(exc).__name__)
        return None
    return sent.message_id


async def edit_shown(
    message: MaybeInaccessibleMessage | None,
    text: str | None = None,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
    parse_mode: str | None = None,
) -> bool:
    """Edits a message the person can see (a tapped button's message); False if not done.

    A message Telegram no longer hands over (inaccessible) or None is left alone.
    """
    if not isinstance(message, Message):
        return False
    done = await edit_message(
        message.get_bot(),
        message.chat_id,
        message.message_id,
        text,
        reply_markup=reply_markup,
        parse_mode=parse_mode,
    )
    return done is not None


async def drop_buttons(update: Update) -> None:
    """Removes the buttons of the message that was tapped (so it can't be tapped twice)."""
    query = update.callback_query
    if query is not None:
        await edit_shown(query.message, reply_markup=None)


async def in_background(
    application: BetweenApp, work: Coroutine[Any, Any, object], *, update: object, name: str
) -> None:
    """Runs slow work (hearing a memo) as a task, so other updates are answered meanwhile.

    While the application is stopping the work is awaited instead: PTB would not wait for a
    new task, but it waits for the update being handled.
    """
    if application.running:
        application.create_task(work, update=update, name=name)
    else:
        await work
