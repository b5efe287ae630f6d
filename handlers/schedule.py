"""The therapy schedule in words: /session, and the one reader onboarding and /settings use.

`change_schedule` reads a phrase (bot/timespec.read_schedule: the same reader as triggers),
applies it to the person's row (bot/schedule.apply), answers with the schedule and its next
three sessions, and re-derives the jobs. `/session` shows the schedule, or changes it:
`/session every other tue 17:00`, `/session no session next week`, `/session moved to thu
9:00`, `/session next wed 18:00`.

After a reflection is saved with no session ahead (irregular schedules), the bot asks for
the next one in one message ("Not sure yet" skips it). The answer is not a conversation
state: the next message that reads as one date and time within NEXT_WAIT sets it; anything
else goes on to wherever it would have gone (a capture, a command), so no words are lost.
"""

from __future__ import annotations

import logging
import time as clock
from datetime import UTC, datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler, MessageHandler

from bot import texts
from bot.clock import zone_of
from bot.context import BetweenApp, BotContext
from bot.jobs import reschedule_user
from bot.schedule import Schedule, apply, describe
from bot.timespec import read_schedule
from handlers.asking import AskAgain, keep_and_ask_again, plainly_a_sentence
from handlers.common import NEW_TEXT, answer_query, command, ensure_user, reply
from storage.users import UserRepository

logger = logging.getLogger(__name__)

NEXT_WAIT = timedelta(hours=12)  # how long "When is your next session?" takes an answer
NEXT_SKIP = "sched:notyet"
NEXT_GROUP = -2  # after access (-10) and flood (-9), before privacy (-1) and the flows (0)


async def change_schedule(
    update: Update, context: BotContext, raw: str, ask_again: AskAgain | None = None
) -> bool:
    """Reads `raw` as a schedule phrase and applies it; answers either way.

    With `ask_again` (a question is waiting), a sentence that is no schedule is kept as a
    capture and the question asked again (handlers/asking.py), not refused.

    Returns:
        True when the schedule changed; False after answering with what to send instead.
    """
    user = await ensure_user(update, context)
    now = datetime.now(UTC)
    async with context.db() as session, session.begin():
        row = await UserRepository(session).get(user.id)
        if row is None:
            return False
        try:
            change = read_schedule(raw, now, zone_of(row), irregular=row.therapy_irregular)
            apply(row, change, now)
        except ValueError as exc:
            error = str(exc)
        else:
            error = ""
            answer = describe(row, now)
            logger.info("user %s changed the therapy schedule (%s)", user.id, change.kind)
    if error:
        if ask_again is not None and plainly_a_sentence(raw):
            await keep_and_ask_again(update, context, ask_again)
        else:
            await reply(update, error)
        return False
    await reply(update, answer)
    await reschedule_user(context.application, user.id)
    return True


async def session_command(update: Update, context: BotContext) -> None:
    """/session: the schedule and its next three sessions; with words, changes it."""
    message = update.effective_message
    raw = message.text.partition(" ")[2].strip() if message and message.text else ""
    if raw:
        await change_schedule(update, context, raw)
        return
    user = await ensure_user(update, context)
    await reply(update, f"{describe(user, datetime.now(UTC))}\n\n{texts.SESSION_HELP}")


def next_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts.NOT_SURE_YET, callback_data=NEXT_SKIP)]]
    )


async def ask_next_if_none(update: Update, context: BotContext) -> None:
    """After a saved reflection: asks for the next session when none is planned."""
    user = await ensure_user(update, context)
    schedule = Schedule.of(user)
    if not (user.therapy_irregular or schedule.is_set):
        return  # no schedule at all: nothing to ask
    if schedule.next_after(datetime.now(UTC)) is not None:
        return
    context.person["next_session_asked"] = clock.time()
    await reply(update, texts.ASK_NEXT_SESSION, reply_markup=next_keyboard())


def _asked(context: BotContext) -> bool:
    asked = context.person.get("next_session_asked")
    return isinstance(asked, int | float) and clock.time() - asked < NEXT_WAIT.total_seconds()


async def maybe_next_session(update: Update, context: BotContext) -> None:
    """Takes a typed next session after the question; anything else passes on untouched."""
    if not _asked(context):
        return
    message = update.effective_message
    if message is None or not message.text or message.text.startswith("/"):
        return
    user = await ensure_user(update, context)
    now = datetime.now(UTC)
    try:
        change = read_schedule(message.text, now, zone_of(user), irregular=True)
    except ValueError:
        return  # not a time: it is something the person said; let it be kept
    if change.kind not in ("next", "move"):
        return
    context.person.pop("next_session_asked", None)
    await change_schedule(update, context, message.text)
    raise ApplicationHandlerStop


async def not_sure_yet(update: Update, context: BotContext) -> None:
    context.person.pop("next_session_asked", None)
    await answer_query(update.callback_query)
    await reply(update, texts.NEXT_SESSION_LATER)


def register(application: BetweenApp) -> None:
    """/session with the flows; the next-session answer in its own group before them all
    (after the guards), so it sees the message first and lets it go on when it is not one."""
    application.add_handler(command("session", session_command))
    application.add_handler(CallbackQueryHandler(not_sure_yet, pattern=f"^{NEXT_SKIP}$"))
    application.add_handler(MessageHandler(NEW_TEXT, maybe_next_session), group=NEXT_GROUP)
