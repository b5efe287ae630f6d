"""After a recall or a ping, "How did it go?" once, `followup_hours` later.

A job derived from rows: `followup:{recall_id}` from `recalls.followup_due_at`, rebuilt at
startup by `reschedule`, and claimed in the database before it is sent (`followup_sent_at`,
compare-and-set), so it is never asked twice.

Decisions: only the latest recall keeps its follow-up (a newer recall or ping cancels the
unsent question of an earlier one), so a person who recalls five times hears one question.
A follow-up missed while the bot was down is still asked if at most FOLLOWUP_GRACE late. One
that would fall inside a therapy session (bot/schedule.py) is asked when the session ends.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from telegram import ReplyParameters
from telegram.error import TelegramError

from bot import texts
from bot.clock import FOLLOWUP_GRACE, aware, naive, utcnow
from bot.context import BetweenApp, BotContext
from bot.jobs.queue import in_slot, remove_job, replace_job
from bot.schedule import Schedule
from bot.views import cut, followup_keyboard, headline_of
from storage.models import User
from storage.recalls import RecallRepository
from storage.reflections import ReflectionRepository
from storage.users import UserRepository

logger = logging.getLogger(__name__)

SOON = timedelta(milliseconds=50)  # an overdue question is asked right away, not in the past


def job_name(recall_id: int) -> str:
    return f"followup:{recall_id}"


def plan(due: datetime, now: datetime) -> datetime | None:
    """When to ask about a recall due at `due` (naive UTC, like `now`); None once too late.

    Returns:
        The aware instant (`now` if overdue within FOLLOWUP_GRACE), or None when it is older.
    """
    if due < now - FOLLOWUP_GRACE:
        return None
    return aware(max(due, now + SOON))


def schedule(application: BetweenApp, user_id: int, recall_id: int, when: datetime) -> None:
    """Schedules the follow-up of one recall at `when` (aware)."""
    replace_job(
        application.job_queue, job_name(recall_id), fire, when, data=recall_id, user_id=user_id
    )


async def after_recall_sent(
    application: BetweenApp, user_id: int, recall_id: int, message_id: int, hours: float
) -> None:
    """Stores the message of a card or ping and schedules its follow-up `hours` later.

    Args:
        application: the running application.
        user_id: the person.
        recall_id: the recall just shown.
        message_id: the bot message that showed it (a reply to it counts as an answer).
        hours: the person's followup_hours.
    """
    db = application.bot_data.sessionmaker
    if db is None:
        return
    due = utcnow() + timedelta(hours=hours)
    async with db() as session, session.begin():
        recalls = RecallRepository(session)
        recall = await recalls.get(user_id, recall_id)
        user = await UserRepository(session).get(user_id)
        if recall is None or user is None:
            return
        # not during a therapy session: at its end instead (the person's real schedule)
        due = naive(Schedule.of(user).after_session(aware(due)))
        dropped = await recalls.drop_pending_followups(user_id)
        recall.message_id = message_id
        recall.followup_due_at = due
    for old in dropped:
        remove_job(application.job_queue, job_name(old), user_id=user_id)
    when = plan(due, utcnow())
    if when is not None:
        schedule(application, user_id, recall_id, when)


async def fire(context: BotContext) -> None:
    """Asks how it went, for the recall this job was made for."""
    job = context.job
    if job is not None and job.user_id is not None and isinstance(job.data, int):
        app, user_id, recall_id = context.application, job.user_id, job.data
        await in_slot(app, f"follow-up {recall_id}", lambda: send(app, user_id, recall_id))


async def send(application: BetweenApp, user_id: int, recall_id: int) -> bool:
    """Claims and sends the "How did it go?" question of one recall; True if sent."""
    db = application.bot_data.sessionmaker
    if db is None:
        return False
    async with db() as session, session.begin():
        user = await UserRepository(session).get(user_id)
        recalls = RecallRepository(session)
        paragraphs = ReflectionRepository(session)
        recall = await recalls.get(user_id, recall_id)
        if user is None or recall is None:
            return False
        if not await recalls.claim_followup(user_id, recall_id, utcnow()):
            return False
        reflection = (
            await paragraphs.saved(user_id, recall.reflection_id) if recall.reflection_id else None
        )
        headline = cut(headline_of(reflection), 80) if reflection else texts.RECALL_NO_HEADLINE
        chat_id, reply_to = user.chat_id, recall.message_id
    try:
        message = await application.bot.send_message(
            chat_id,
            texts.FOLLOWUP_ASK.format(headline=headline),
            reply_markup=followup_keyboard(recall_id),
            reply_parameters=(
                ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
            ),
        )
    except TelegramError as exc:
        logger.warning("follow-up of recall %s not delivered: %s", recall_id, type(exc).__name__)
        return False
    async with db() as session, session.begin():
        recall = await RecallRepository(session).get(user_id, recall_id)
        if recall is not None:
            recall.followup_message_id = message.id
    logger.info("follow-up of recall %s sent as message %s", recall_id, message.id)
    return True


async def reschedule(application: BetweenApp, user: User, at_startup: bool = False) -> None:
    """Rebuilds one person's follow-up jobs from their rows; drops those too late to ask."""
    db = application.bot_data.sessionmaker
    if db is None:
        return
    now = utcnow()
    keep: list[tuple[int, datetime]] = []
    async with db() as session, session.begin():
        for recall in await RecallRepository(session).pending_followups(user.id):
            when = plan(recall.followup_due_at, now) if recall.followup_due_at else None
            if when is None:
                recall.followup_due_at = None  # too late to ask about it
            else:
                keep.append((recall.id, when))
    for recall_id, when in keep:
        schedule(application, user.id, recall_id, when)
