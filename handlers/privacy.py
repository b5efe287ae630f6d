"""/export and /delete: the person can take everything stored about them, or remove it all.

`/export pdf [first] [last]` is the page for the room over any days (bot/pdf.py), built in
memory like the other export files.

Both run in handler group -1 (after the access guard and flood control, before every flow),
so they work even in the middle of a conversation, and stop the update there.

/delete asks first; the confirm button names the person, when it was offered and a nonce
kept in their user_data, so only that person can press it, only the latest offer counts,
and only within CONFIRM_FOR. Then bot/erasure.py removes every row of theirs, with their
scheduled jobs, their conversation states and user_data, and any kept audio, and makes
sure the text is gone from the database files on disk too.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Final

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    filters,
)

from bot import export, texts
from bot.clock import local_day_bounds, naive, zone_of
from bot.context import BetweenApp, BotContext
from bot.erasure import erase_everything
from bot.telegram_io import edit_message
from bot.timespec import read_days
from bot.zones import load_zone
from handlers.common import answer_query, reply
from storage.pages import PageRepository
from storage.personal import PersonalDataRepository
from storage.users import UserRepository

logger = logging.getLogger(__name__)

GROUP = -1
PREFIX = "priv:"
CALLBACK = re.compile(r"^priv:(yes|no):(\d{1,20}):(\d{1,12}):([0-9a-f]{8})$")  # user, time, nonce
OFFER_KEY: Final = "delete_offer"  # user_data: the one /delete confirmation that is valid now
CONFIRM_FOR = 15 * 60  # seconds a /delete confirmation stays valid


# --------------------------------------------------------------------------- /export


async def export_command(update: Update, context: BotContext) -> None:
    """Sends everything stored about the person as a readable and a complete file.

    `/export pdf [first] [last]` sends a PDF of those days instead (export_pdf).
    """
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        raise ApplicationHandlerStop
    args = context.args or []
    if args and args[0].lower() == "pdf":
        await export_pdf(update, context, " ".join(args[1:]))
        raise ApplicationHandlerStop
    started = time.perf_counter()
    async with context.db() as session:
        data = await PersonalDataRepository(session).collect(user.id)
    if data.user is None and not data.count:
        await reply(update, texts.EXPORT_NOTHING)
        raise ApplicationHandlerStop
    try:
        zone = load_zone(str((data.user or {}).get("timezone") or "UTC"))
    except ValueError:
        zone = UTC
    now = datetime.now(UTC)
    readable = export.markdown(data, zone, now).encode("utf-8")
    complete = export.as_json(data, now).encode("utf-8")
    md_name, json_name = export.filenames(now.astimezone(zone).date())
    try:
        await chat.send_message(texts.EXPORT_INTRO)
        await chat.send_document(readable, filename=md_name, caption=texts.EXPORT_CAPTION_READABLE)
        await chat.send_document(
            complete, filename=json_name, caption=texts.EXPORT_CAPTION_COMPLETE
        )
    except TelegramError as exc:
        logger.warning("export for user %s not sent: %s", user.id, type(exc).__name__)
        await reply(update, texts.EXPORT_FAILED)
        raise ApplicationHandlerStop from None
    logger.info(
        "export for user %s: %d rows, %d + %d bytes, %.2f s",
        user.id,
        data.count,
        len(readable),
        len(complete),
        time.perf_counter() - started,
    )
    raise ApplicationHandlerStop


async def export_pdf(update: Update, context: BotContext, days: str) -> None:
    """A PDF of the person's words between two days (default: the last four weeks).

    Args:
        update: the /export pdf message.
        context: the handler context.
        days: what follows "pdf" (bot.timespec.read_days reads it).
    """
    from bot import pdf  # fpdf2 and its fonts load on the first PDF (~60 MB), not at start

    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return
    started = time.perf_counter()
    now = datetime.now(UTC)
    async with context.db() as session:
        person = await UserRepository(session).get(user.id)
    zone = zone_of(person) if person is not None else UTC
    today = now.astimezone(zone).date()
    try:
        first, last = pdf.span_of(read_days(days, today), today)
    except ValueError as exc:
        await reply(update, str(exc))
        return
    since, until = local_day_bounds(first, zone)[0], local_day_bounds(last, zone)[1]
    async with context.db() as session:
        facts = await PageRepository(session).facts(user.id, naive(since), naive(until))
        page = pdf.page_of(
            facts, zone, now, title=texts.PDF_TITLE_SPAN, span=pdf.span_label(first, last)
        )
    first_label, last_label = pdf.day_name(first), pdf.day_name(last)
    if page.empty or first > last:
        await reply(update, texts.EXPORT_PDF_NOTHING.format(first=first_label, last=last_label))
        return
    data = await asyncio.to_thread(pdf.render_page, page, one_page=False)
    caption = texts.EXPORT_PDF_CAPTION.format(first=first_label, last=last_label)
    try:
        await chat.send_document(data, filename=pdf.filename(first, last), caption=caption)
    except TelegramError as exc:
        logger.warning("pdf export for user %s not sent: %s", user.id, type(exc).__name__)
        await reply(update, texts.EXPORT_PDF_FAILED)
        return
    logger.info(
        "pdf export for user %s: %d days, %d bytes, %.2f s",
        user.id,
        (last - first).days + 1,
        len(data),
        time.perf_counter() - started,
    )


# --------------------------------------------------------------------------- /delete


def confirm_keyboard(offer: str) -> InlineKeyboardMarkup:
    """Yes / Cancel for one offer ("{user id}:{offered at}:{nonce}")."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.BUTTON_DELETE_EVERYTHING, callback_data=f"{PREFIX}yes:{offer}"
                )
            ],
            [InlineKeyboardButton(texts.BUTTON_CANCEL, callback_data=f"{PREFIX}no:{offer}")],
        ]
    )


async def delete_command(update: Update, context: BotContext) -> None:
    """Asks whether to delete everything, with a button only this person can press."""
    user = update.effective_user
    if user is None:
        raise ApplicationHandlerStop
    offer = f"{user.id}:{int(time.time())}:{secrets.token_hex(4)}"
    context.person[OFFER_KEY] = offer  # a newer /delete makes older buttons stale
    await reply(update, texts.DELETE_CONFIRM, reply_markup=confirm_keyboard(offer))
    raise ApplicationHandlerStop


async def on_confirm(update: Update, context: BotContext) -> None:
    """Deletes everything on "Yes" (or cancels), if the button is this person's and fresh."""
    query = update.callback_query
    if query is None:
        raise ApplicationHandlerStop
    match = CALLBACK.match(query.data or "")
    user_id = query.from_user.id
    age = time.time() - int(match.group(3)) if match else -1.0
    offer = query.data.split(":", 2)[2] if match and query.data else ""
    if (
        match is None
        or int(match.group(2)) != user_id
        or context.person.get(OFFER_KEY) != offer
        or not -60 <= age <= CONFIRM_FOR
    ):
        logger.info("stale or foreign /delete button pressed by user %s", user_id)
        await answer_query(query, texts.STALE_BUTTON)
        raise ApplicationHandlerStop
    context.person.pop(OFFER_KEY, None)
    if match.group(1) == "no":
        await answer_query(query)
        await _edit(query, texts.DELETE_CANCELLED)
        raise ApplicationHandlerStop
    try:
        await erase_everything(context.application, user_id)
    except Exception:
        logger.exception("deleting the data of user %s failed", user_id)
        await answer_query(query)
        await _edit(query, texts.DELETE_FAILED)
        raise ApplicationHandlerStop from None
    await answer_query(query)
    await _edit(query, texts.DELETE_DONE)
    raise ApplicationHandlerStop


# --------------------------------------------------------------------------- buttons


async def _edit(query: CallbackQuery, text_: str) -> None:
    """Turns the confirmation into the outcome (no buttons left); sends it if editing fails."""
    message = query.message
    chat_id = message.chat.id if message is not None else query.from_user.id
    message_id = message.message_id if message is not None else None
    await edit_message(query.get_bot(), chat_id, message_id, text_, or_send=True)


def register(application: BetweenApp) -> None:
    """Adds /export and /delete before every flow."""
    new = filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("export", export_command, filters=new), group=GROUP)
    application.add_handler(CommandHandler("delete", delete_command, filters=new), group=GROUP)
    application.add_handler(CallbackQueryHandler(on_confirm, pattern=f"^{PREFIX}"), group=GROUP)
