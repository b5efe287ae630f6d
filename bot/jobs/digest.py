"""The day before therapy, the week's digest: what landed, the paragraph, how recalls went.

A job derived from rows: `digest:{user_id}` from the schedule and `users.last_digest_on`,
rebuilt at startup by `reschedule` and claimed in the database before it is sent
(`last_digest_on`, compare-and-set), so it is never sent twice.

Decisions: it goes out the day before the therapy session at the person's evening time
(19:00 when the evening prompt is off); one missed while the bot was down goes out at startup
if at most DIGEST_GRACE late; a week with nothing captured, reflected or recalled gets no
digest at all, rather than a nudge about an empty week.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.clock import DIGEST_GRACE, localize, naive, zone_of
from bot.context import BetweenApp, BotContext
from bot.jobs.queue import in_slot, remove_job, replace_job
from bot.schedule import Schedule, last_therapy
from bot.views import digest_text
from storage.models import User
from storage.recalls import RecallRepository
from storage.users import UserRepository

if TYPE_CHECKING:
    from bot import pdf

logger = logging.getLogger(__name__)

DEFAULT_TIME = time(19, 0)  # when the evening prompt is off


def job_name(user_id: int) -> str:
    return f"digest:{user_id}"


def digest_at(session: datetime, at: time, tz: tzinfo) -> datetime:
    """The digest instant for a session: the local day before it, at `at`."""
    return localize(session.astimezone(tz).date() - timedelta(days=1), at, tz)


def plan(user: User, now: datetime, catch_up: bool = False) -> tuple[datetime, date] | None:
    """When the digest job runs and the local date it stands for; None with no session ahead.

    A digest belongs to each real session of the person's schedule (bot/schedule.py): none
    before a skipped one, one before a moved or irregular one. With `catch_up` (startup
    only) a digest missed by at most DIGEST_GRACE runs now; a settings change on the digest
    evening must not send one in the middle of onboarding.
    """
    sessions = Schedule.of(user)
    if not sessions.is_set:
        return None
    tz, at = zone_of(user), user.evening_time or DEFAULT_TIME
    sent = user.last_digest_on
    if catch_up:
        latest = sessions.next_after(now - DIGEST_GRACE - timedelta(days=2))
        while latest is not None and (missed := digest_at(latest, at, tz)) <= now:
            day = missed.astimezone(tz).date()
            if now - missed <= DIGEST_GRACE and (sent is None or sent < day):
                return now + timedelta(milliseconds=50), day
            latest = sessions.next_after(latest)
    session = sessions.next_after(now - timedelta(days=2))
    while session is not None:
        when = digest_at(session, at, tz)
        day = when.astimezone(tz).date()
        if when > now and (sent is None or sent < day):
            return when, day
        session = sessions.next_after(session)
    return None


def schedule(application: BetweenApp, user: User, catch_up: bool = False) -> None:
    """Schedules this week's digest (a missed one now, with `catch_up`), or removes it."""
    planned = plan(user, datetime.now(UTC), catch_up)
    if planned is None:
        remove_job(application.job_queue, job_name(user.id), user_id=user.id)
        return
    when, day = planned
    replace_job(
        application.job_queue,
        job_name(user.id),
        fire,
        when,
        data=day.isoformat(),
        user_id=user.id,
        chat_id=user.chat_id,
    )


async def reschedule(application: BetweenApp, user: User, at_startup: bool = False) -> None:
    """Re-derives the digest job; at startup it also sends a missed one (within the grace)."""
    schedule(application, user, catch_up=at_startup)


async def fire(context: BotContext) -> None:
    """Sends the digest this job was made for, then schedules next week's."""
    job = context.job
    if job is not None and job.user_id is not None:
        app, user_id, day = context.application, job.user_id, date.fromisoformat(str(job.data))
        await in_slot(app, f"digest of {user_id}", lambda: send(app, user_id, day))


async def send(application: BetweenApp, user_id: int, day: date) -> bool:
    """Claims the digest of `day` (local date), sends it if the week had anything; True if sent.

    Args:
        application: the running application.
        user_id: the person.
        day: the local date the digest belongs to (the day before the session).
    """
    from bot import pdf  # fpdf2 and its fonts load on the first digest (~60 MB), not at start

    db = application.bot_data.sessionmaker
    if db is None:
        return False
    now = datetime.now(UTC)
    async with db() as session, session.begin():
        user = await UserRepository(session).get(user_id)
        if user is None or not Schedule.of(user).is_set:
            return False
        recalls = RecallRepository(session)
        text = None
        page: pdf.Page | None = None
        if await recalls.claim_digest(user_id, day):
            tz = zone_of(user)
            # since the session before the one that follows `day`, whatever the clock says
            therapy = last_therapy(user, localize(day, time(0), tz))
            # no session before (a first irregular one): the last seven days
            week_start = therapy[1] if therapy is not None else naive(now - timedelta(days=7))
            facts = await recalls.digest_facts(user_id, week_start)
            text = digest_text(facts, tz, now, day)
            if text is not None:
                page = await pdf.week_page(session, user_id, week_start, now, tz)
        else:
            logger.info("digest of %s for %s was already sent", user_id, day)
        user.last_digest_on = max(user.last_digest_on or day, day)
        chat_id = user.chat_id
    schedule(application, user)
    if text is None:
        return False
    try:
        await application.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
    except TelegramError as exc:
        logger.warning("digest for %s not delivered: %s", user_id, type(exc).__name__)
        return False
    logger.info("digest for %s sent (%d characters)", user_id, len(text))
    if page is not None:  # the same week on one page, after the text; a failure is logged
        await pdf.send_week(application.bot, user_id, chat_id, page, day + timedelta(days=1))
    return True
