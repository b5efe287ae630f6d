"""/triggers: the person's moments, each with pause / resume, change and delete buttons.

Below them, "Coming back later": the pings and evening prompt snoozed with Later and when
each comes back (bot/jobs/snooze.py).

"Change" (`tg:edit:{id}`) is an entry point of the /trigger conversation (handlers/triggers.py);
pause, delete, undo and "every week" (`tg:pause|del|undo|weekly:{id}`) are answered here.
Registered before handlers/triggers.py, whose catch-all answers stale `tg:` buttons.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.ext import CallbackQueryHandler

from bot import texts
from bot.clock import zone_of
from bot.context import BetweenApp, BotContext
from bot.jobs import trigger
from bot.moments import TimeTrigger, describe
from bot.telegram_io import edit_shown
from bot.views import describe_trigger, spec_of, trigger_line, when_local
from handlers.common import answer_query, command, ensure_user, reply
from storage.models import SnoozeKind, TriggerKind, TriggerStatus, User
from storage.snoozes import SnoozeRepository
from storage.triggers import TriggerRepository
from storage.users import UserRepository

logger = logging.getLogger(__name__)

MAX_LISTED = 20


async def _listing(context: BotContext, user_id: int) -> tuple[str, InlineKeyboardMarkup | None]:
    """The /triggers message (HTML) and its per-trigger buttons."""
    async with context.db() as session:
        user = await UserRepository(session).get(user_id)
        rows = (await TriggerRepository(session).listed(user_id))[:MAX_LISTED]
        later = await _snoozed(session, user) if user is not None else ""
    if user is None or not rows:
        return texts.TRG_LIST_EMPTY + later, None
    tz = zone_of(user)
    now = datetime.now(UTC)
    lines, buttons = [], []
    for n, row in enumerate(rows, 1):
        line = f"{n}. {trigger_line(row, tz, now)}"
        if row.status == TriggerStatus.PAUSED:
            line += f" ({texts.TRG_LIST_PAUSED})"
        elif row.kind == TriggerKind.TIME and row.next_fire_at is not None:
            line += "\n    " + texts.TRG_LIST_NEXT.format(when=when_local(row.next_fire_at, tz))
        lines.append(line)
        row_buttons = []
        if row.kind == TriggerKind.TIME:
            label = (
                texts.TRG_BUTTON_RESUME
                if row.status == TriggerStatus.PAUSED
                else texts.TRG_BUTTON_PAUSE
            )
            row_buttons.append(
                InlineKeyboardButton(label.format(n=n), callback_data=f"tg:pause:{row.id}")
            )
        row_buttons.append(
            InlineKeyboardButton(
                texts.TRG_BUTTON_CHANGE.format(n=n), callback_data=f"tg:edit:{row.id}"
            )
        )
        row_buttons.append(
            InlineKeyboardButton(
                texts.TRG_BUTTON_DELETE.format(n=n), callback_data=f"tg:del:{row.id}"
            )
        )
        buttons.append(row_buttons)
    return texts.TRG_LIST.format(lines="\n".join(lines)) + later, InlineKeyboardMarkup(buttons)


async def _snoozed(session: AsyncSession, user: User) -> str:
    """The "Coming back later" part of the listing (HTML): pending snoozes, or ""."""
    tz = zone_of(user)
    now = datetime.now(UTC)
    triggers = TriggerRepository(session)
    lines = []
    for row in await SnoozeRepository(session).pending(user.id):
        when = when_local(row.due_at, tz)
        found = await triggers.get(user.id, row.trigger_id) if row.trigger_id else None
        if row.kind == SnoozeKind.EVENING:
            lines.append(texts.TRG_SNOOZED_EVENING.format(when=when))
        elif found is not None:
            what = html.escape(describe_trigger(found, tz, now))
            lines.append(texts.TRG_SNOOZED_PING.format(what=what, when=when))
    return "\n\n" + texts.TRG_LIST_SNOOZED.format(lines="\n".join(lines)) if lines else ""


async def list_command(update: Update, context: BotContext) -> None:
    """Lists the person's moments with buttons to pause, change or delete each."""
    user = await ensure_user(update, context)
    text, keyboard = await _listing(context, user.id)
    await reply(update, text, parse_mode=ParseMode.HTML, reply_markup=keyboard)


async def manage(update: Update, context: BotContext) -> None:
    """Pauses, resumes, deletes, undoes or repeats weekly one trigger."""
    query = update.callback_query
    if query is None:
        return
    action, _, raw_id = (query.data or "").removeprefix("tg:").partition(":")
    if not raw_id.isdigit() or action not in {"pause", "del", "undo", "weekly"}:
        await answer_query(query, texts.TRG_GONE)
        return
    user = await ensure_user(update, context)
    tz = zone_of(user)
    now = datetime.now(UTC)
    note, confirm = texts.TRG_DELETED, None
    async with context.db() as session, session.begin():
        triggers = TriggerRepository(session)
        row = await triggers.get(user.id, int(raw_id))
        once_at = row.once_at if row is not None else None
        if row is None or (action == "weekly" and once_at is None):
            await answer_query(query, texts.TRG_GONE)
            return
        if action in {"del", "undo"}:
            await triggers.delete(user.id, row.id)
        elif action == "weekly" and once_at is not None:
            local = once_at.replace(tzinfo=UTC).astimezone(tz)
            spec = TimeTrigger("weekly", (local.weekday(),), local.time(), None, row.cue or "")
            trigger.apply_time(row, spec, now, tz)
            note, confirm = (
                texts.RECALL_NOTED,
                texts.TRG_NOW_WEEKLY.format(when=describe(spec, tz, now)),
            )
        elif row.kind != TriggerKind.TIME:
            await answer_query(query, texts.TRG_GONE)
            return
        elif row.status == TriggerStatus.ACTIVE:
            row.status, note = TriggerStatus.PAUSED, texts.TRG_PAUSED
        else:
            trigger.apply_time(row, spec_of(row), now, tz)  # ACTIVE again, or DONE if spent
            resumed = TriggerStatus(row.status) is TriggerStatus.ACTIVE
            note = texts.TRG_RESUMED if resumed else texts.TRG_SPENT
    if action in {"del", "undo"}:
        trigger.unschedule(context.application, row.user_id, row.id)
    else:
        trigger.schedule(context.application, row, user.chat_id)
    logger.info("trigger %s: %s by %s", row.id, action, user.id)
    await answer_query(query, note)
    message = query.message if isinstance(query.message, Message) else None
    if message is None:
        return
    if action == "undo":
        await edit_shown(message, texts.TRG_UNDONE)
    elif confirm is not None:
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(texts.TRG_BUTTON_UNDO, callback_data=f"tg:undo:{row.id}")]]
        )
        await edit_shown(message, confirm, reply_markup=keyboard)
    else:
        listing, buttons = await _listing(context, user.id)
        await edit_shown(message, listing, parse_mode=ParseMode.HTML, reply_markup=buttons)


def register(application: BetweenApp) -> None:
    application.add_handler(command("triggers", list_command))
    application.add_handler(CallbackQueryHandler(manage, pattern=r"^tg:(pause|del|undo|weekly):"))
