"""After a recall, "How did it go?" once; the day before therapy, the week's digest.

Both are jobs derived from rows (`followup:{recall_id}` from `recalls.followup_due_at`,
`digest:{user_id}` from the therapy day and `users.last_digest_on`) and rebuilt at startup by
`schedule_user`. Each is claimed in the database before it is sent (`followup_sent_at`,
`last_digest_on`, compare-and-set), so neither is ever sent twice.

Decisions: only the latest recall keeps its follow-up (a newer recall or ping cancels the
unsent question of an earlier one), so a person who recalls five times hears one question.
A follow-up missed while the bot was down is still asked if at most FOLLOWUP_GRACE late.
The digest goes out the day before the therapy session at the person's evening time
(19:00 when the evening prompt is off); a week with nothing captured, reflected or recalled
gets no digest at all, rather than a nudge about an empty week.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from telegram import ReplyParameters
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot import texts
from bot.cards import aware, cut, day_label, followup_keyboard, headline_of, naive
from bot.context import BetweenApp, BotContext
from bot.scheduling import remove_job, replace_job
from bot.timespec import load_zone, localize, next_weekly
from storage.models import User
from storage.recalls import DigestFacts, RecallRepository
from storage.sessions import utcnow
from storage.users import UserRepository

logger = logging.getLogger(__name__)

FOLLOWUP_GRACE = timedelta(hours=12)
DIGEST_GRACE = timedelta(hours=6)
DIGEST_DEFAULT_TIME = time(19, 0)
MAX_OUTCOMES = 5


def followup_job(recall_id: int) -> str:
    return f"followup:{recall_id}"


def digest_job(user_id: int) -> str:
    return f"digest:{user_id}"


def _zone(user: User) -> tzinfo:
    try:
        return load_zone(user.timezone)
    except ValueError:
        return UTC


# ------------------------------------------------------------------ follow-ups


def schedule_followup(application: BetweenApp, user_id: int, recall_id: int, due: datetime) -> None:
    """Schedules the follow-up of one recall at `due` (naive UTC; now if it is past)."""
    when = max(aware(due), datetime.now(UTC) + timedelta(milliseconds=50))
    replace_job(
        application.job_queue,
        followup_job(recall_id),
        _followup_job,
        when,
        data=recall_id,
        user_id=user_id,
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
        if recall is None:
            return
        dropped = await recalls.drop_pending_followups(user_id)
        recall.message_id = message_id
        recall.followup_due_at = due
    for old in dropped:
        remove_job(application.job_queue, followup_job(old))
    schedule_followup(application, user_id, recall_id, due)


async def _followup_job(context: BotContext) -> None:
    """Asks how it went, for the recall this job was made for."""
    job = context.job
    assert job is not None and job.user_id is not None
    assert isinstance(job.data, int)
    await send_followup(context.application, job.user_id, job.data)


async def send_followup(application: BetweenApp, user_id: int, recall_id: int) -> bool:
    """Claims and sends the "How did it go?" question of one recall; True if sent."""
    db = application.bot_data.sessionmaker
    if db is None:
        return False
    async with db() as session, session.begin():
        user = await UserRepository(session).get(user_id)
        recalls = RecallRepository(session)
        recall = await recalls.get(user_id, recall_id)
        if user is None or recall is None:
            return False
        if not await recalls.claim_followup(user_id, recall_id, utcnow()):
            return False
        reflection = (
            await recalls.saved(user_id, recall.reflection_id) if recall.reflection_id else None
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


# ------------------------------------------------------------------ digest


def _digest_slot(user: User) -> tuple[int, time] | None:
    """The weekday and local time of the digest: the day before therapy, evening time."""
    if user.therapy_weekday is None or user.therapy_time is None:
        return None
    return (user.therapy_weekday - 1) % 7, user.evening_time or DIGEST_DEFAULT_TIME


def last_session_start(user: User, now: datetime) -> datetime:
    """The start (aware UTC) of the therapy session before the coming one."""
    tz = _zone(user)
    assert user.therapy_weekday is not None and user.therapy_time is not None
    coming = next_weekly(user.therapy_weekday, user.therapy_time, tz, now)
    return next_weekly(user.therapy_weekday, user.therapy_time, tz, coming - timedelta(days=8))


def schedule_digest(application: BetweenApp, user: User, catch_up: bool = False) -> None:
    """Schedules this week's digest; with `catch_up` (startup only) sends a missed one now.

    A digest missed while the bot was down goes out if at most DIGEST_GRACE late; a settings
    change on the digest evening must not send one in the middle of onboarding.
    """
    slot = _digest_slot(user)
    if slot is None:
        remove_job(application.job_queue, digest_job(user.id))
        return
    weekday, at = slot
    tz = _zone(user)
    now = datetime.now(UTC)
    upcoming = next_weekly(weekday, at, tz, now)
    if user.last_digest_on is not None and user.last_digest_on >= upcoming.astimezone(tz).date():
        upcoming = next_weekly(weekday, at, tz, upcoming)  # this week's went out already
    previous = next_weekly(weekday, at, tz, upcoming - timedelta(days=8))
    previous_day = previous.astimezone(tz).date()
    late = catch_up and previous < now and now - previous <= DIGEST_GRACE
    if late and (user.last_digest_on is None or user.last_digest_on < previous_day):
        when, day = now + timedelta(milliseconds=50), previous_day
    else:
        when, day = upcoming, upcoming.astimezone(tz).date()
    replace_job(
        application.job_queue,
        digest_job(user.id),
        _digest_job,
        when,
        data=day.isoformat(),
        user_id=user.id,
        chat_id=user.chat_id,
    )


async def _digest_job(context: BotContext) -> None:
    """Sends the digest this job was made for, then schedules next week's."""
    job = context.job
    assert job is not None and job.user_id is not None
    await send_digest(context.application, job.user_id, date.fromisoformat(str(job.data)))


def digest_text(facts: DigestFacts, tz: tzinfo, now: datetime, day: date) -> str | None:
    """The digest message (HTML), or None when nothing happened this week.

    Args:
        facts: what the week held.
        tz: the person's zone.
        now: aware send time.
        day: the local date the digest belongs to (the day before the session); one sent
            late, after local midnight, says the session is today, not tomorrow.
    """
    if facts.empty:
        return None
    late = now.astimezone(tz).date() > day
    parts = [texts.DIGEST_HEAD_TODAY if late else texts.DIGEST_HEAD]
    if facts.landed:
        parts.append(texts.DIGEST_LANDED.format(text=html.escape(cut(facts.landed[0], 500))))
    if facts.reflection is not None:
        parts.append(
            texts.DIGEST_PARAGRAPH.format(
                headline=html.escape(headline_of(facts.reflection)),
                paragraph=html.escape(cut(facts.reflection.paragraph, 1500)),
            )
        )
    recalls = facts.recalls
    if recalls:
        parts.append(
            texts.DIGEST_RECALLS.format(
                count=len(recalls),
                times="time" if len(recalls) == 1 else "times",
                helped=sum(r.helped is True for r in recalls),
                not_helped=sum(r.helped is False for r in recalls),
            )
        )
    elif facts.reflection is not None:
        parts.append(texts.DIGEST_NO_RECALLS)
    said = [r for r in recalls if r.outcome][-MAX_OUTCOMES:]
    if said:
        lines = "\n".join(
            texts.DIGEST_OUTCOME_LINE.format(
                day=day_label(r.answered_at or r.created_at, tz),
                text=html.escape(cut(r.outcome, 200)),
            )
            for r in said
        )
        parts.append(texts.DIGEST_OUTCOMES.format(lines=lines))
    parts.append(texts.DIGEST_FOOT)
    return "\n\n".join(parts)


async def send_digest(application: BetweenApp, user_id: int, day: date) -> bool:
    """Claims the digest of `day` (local date), sends it if the week had anything; True if sent.

    Args:
        application: the running application.
        user_id: the person.
        day: the local date the digest belongs to (the day before the session).
    """
    db = application.bot_data.sessionmaker
    if db is None:
        return False
    now = datetime.now(UTC)
    async with db() as session, session.begin():
        user = await UserRepository(session).get(user_id)
        if user is None or _digest_slot(user) is None:
            return False
        recalls = RecallRepository(session)
        text = None
        if await recalls.claim_digest(user_id, day):
            # the week before the session that follows `day`, whatever the clock says now
            week_start = last_session_start(user, localize(day, time(0), _zone(user)))
            facts = await recalls.digest_facts(user_id, naive(week_start))
            text = digest_text(facts, _zone(user), now, day)
        else:
            logger.info("digest of %s for %s was already sent", user_id, day)
        user.last_digest_on = max(user.last_digest_on or day, day)
        chat_id = user.chat_id
    schedule_digest(application, user)
    if text is None:
        return False
    try:
        await application.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
    except TelegramError as exc:
        logger.warning("digest for %s not delivered: %s", user_id, type(exc).__name__)
        return False
    logger.info("digest for %s sent (%d characters)", user_id, len(text))
    return True


# ------------------------------------------------------------------ startup


async def schedule_user(application: BetweenApp, user: User, at_startup: bool = False) -> None:
    """UserScheduler: rebuild one person's follow-up jobs and digest job from their rows."""
    db = application.bot_data.sessionmaker
    if db is None:
        return
    now = utcnow()
    async with db() as session, session.begin():
        pending = await RecallRepository(session).pending_followups(user.id)
        keep: list[tuple[int, datetime]] = []
        for recall in pending:
            assert recall.followup_due_at is not None
            if recall.followup_due_at < now - FOLLOWUP_GRACE:
                recall.followup_due_at = None  # too late to ask about it
            else:
                keep.append((recall.id, recall.followup_due_at))
    for recall_id, due in keep:
        schedule_followup(application, user.id, recall_id, due)
    schedule_digest(application, user, catch_up=at_startup)
