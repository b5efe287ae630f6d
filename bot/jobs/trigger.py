"""Time triggers as JobQueue jobs: derived from rows, fired at most once, caught up at startup.

The database is the only truth: each active time trigger has `next_fire_at` (naive UTC) and
one job `trigger:{id}` at that instant. Firing happens in this order:

1. in ONE transaction: re-read the trigger, take the due instant with a compare-and-set on
   `next_fire_at` (advancing it, or marking a one-off done), and insert the Recall row;
2. commit, then send the ping (headline first, paragraph, the trigger, "I read it").

So a ping is sent **at most once**: a crash or a failed send after the commit loses that one
ping (it is logged) rather than ever sending it twice. At startup `reschedule` looks at every
active time trigger: one due while the bot was down is fired now if it is at most
TRIGGER_GRACE old, otherwise it is counted as missed (`missed_count`), advanced, and the
person gets one line saying what was missed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, tzinfo

from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot import texts
from bot.clock import TRIGGER_GRACE, aware, naive, utcnow, zone_of
from bot.context import BetweenApp, BotContext
from bot.jobs import followup, snooze
from bot.jobs.queue import in_slot, remove_job, replace_job
from bot.moments import TimeTrigger, next_fire
from bot.views import describe_trigger, ping_keyboard, ping_text, spec_of
from storage.models import RecallSource, Trigger, TriggerKind, TriggerStatus, User
from storage.recalls import RecallRepository
from storage.reflections import ReflectionRepository
from storage.search import keywords_of
from storage.triggers import TriggerRepository
from storage.users import UserRepository

logger = logging.getLogger(__name__)

DUE_SLACK = timedelta(seconds=2)  # a job may wake a hair before the stored instant
JOB_PREFIX = "trigger:"


def job_name(trigger_id: int) -> str:
    return f"{JOB_PREFIX}{trigger_id}"


def apply_time(row: Trigger, spec: TimeTrigger, now: datetime, tz: tzinfo) -> None:
    """Makes `row` the time trigger `spec` (active from `now`, aware) and sets next_fire_at."""
    row.kind = TriggerKind.TIME
    row.recurrence = spec.kind
    row.weekdays = ",".join(str(d) for d in spec.weekdays) or None
    row.at_time = spec.at.replace(second=0, microsecond=0)
    row.once_at = naive(spec.once_at) if spec.once_at else None
    row.cue = spec.label or None
    row.keywords = keywords_of(spec.label) or None
    upcoming = next_fire(spec, now, tz)
    row.next_fire_at = naive(upcoming) if upcoming else None
    row.status = TriggerStatus.ACTIVE if upcoming else TriggerStatus.DONE


def apply_situation(row: Trigger, cue: str) -> None:
    """Makes `row` a situation trigger: a cue with keywords that /recall searches."""
    row.kind = TriggerKind.SITUATION
    row.recurrence = row.weekdays = None
    row.at_time = row.once_at = row.next_fire_at = None
    row.cue = cue
    row.keywords = keywords_of(cue) or None
    row.status = TriggerStatus.ACTIVE


def after_firing(row: Trigger, after: datetime, tz: tzinfo) -> datetime | None:
    """The instant a trigger is due next once its current instant is taken (a one-off: none)."""
    return None if row.recurrence == "once" else next_fire(spec_of(row), after, tz)


def plan(row: Trigger, now: datetime) -> datetime | None:
    """When the job of a trigger runs (aware, `now` if overdue), or None if nothing is due."""
    if row.kind != TriggerKind.TIME or row.status != TriggerStatus.ACTIVE or not row.next_fire_at:
        return None
    return max(aware(row.next_fire_at), now + timedelta(milliseconds=50))


def schedule(application: BetweenApp, row: Trigger, chat_id: int | None = None) -> None:
    """(Re)creates the job of one trigger from its row, or removes it if nothing is due."""
    when = plan(row, datetime.now(UTC))
    if when is None:
        remove_job(application.job_queue, job_name(row.id), user_id=row.user_id)
        return
    replace_job(
        application.job_queue,
        job_name(row.id),
        fire,
        when,
        data=row.id,
        user_id=row.user_id,
        chat_id=chat_id,
    )


def unschedule(application: BetweenApp, user_id: int, trigger_id: int) -> None:
    remove_job(application.job_queue, job_name(trigger_id), user_id=user_id)


async def fire(context: BotContext) -> None:
    """Fires the trigger this job was made for."""
    job = context.job
    if job is not None and job.user_id is not None and isinstance(job.data, int):
        app, user_id, trigger_id = context.application, job.user_id, job.data
        await in_slot(app, f"trigger {trigger_id}", lambda: send(app, user_id, trigger_id))


async def send(application: BetweenApp, user_id: int, trigger_id: int) -> int | None:
    """Records one due firing, then sends the ping (at most once).

    Args:
        application: the running application.
        user_id: the owner of the trigger.
        trigger_id: the trigger whose job woke up.

    Returns:
        The id of the Recall recorded for this ping, or None if nothing was due.
    """
    db = application.bot_data.sessionmaker
    if db is None:
        return None
    now = utcnow()
    async with db() as session, session.begin():
        user = await UserRepository(session).get(user_id)
        triggers = TriggerRepository(session)
        row = await triggers.get(user_id, trigger_id)
        if (
            user is None
            or row is None
            or row.kind != TriggerKind.TIME
            or row.status != TriggerStatus.ACTIVE
            or row.next_fire_at is None
        ):
            logger.info("trigger %s woke up but is no longer active", trigger_id)
            return None
        if row.next_fire_at > now + DUE_SLACK:
            logger.info("trigger %s woke up early; rescheduled", trigger_id)
            early: Trigger | None = row
        else:
            early = None
            tz = zone_of(user)
            expected = row.next_fire_at
            upcoming = after_firing(row, aware(max(now, expected)), tz)
            taken = await triggers.record_firing(
                user_id, trigger_id, expected, naive(upcoming) if upcoming else None, now
            )
            if not taken:
                logger.info("trigger %s: this firing was already taken", trigger_id)
                return None
            recalls = RecallRepository(session)
            paragraphs = ReflectionRepository(session)
            reflection = (
                await paragraphs.saved(user_id, row.reflection_id) if row.reflection_id else None
            )
            recall = await recalls.add(
                user_id, reflection.id if reflection else None, RecallSource.PING, trigger_id
            )
            text = ping_text(reflection, row, tz, aware(now))
            chat_id, recall_id, hours = user.chat_id, recall.id, user.followup_hours
            later = snooze.tonight_clock(user, aware(now))  # a "Tonight" Later button
    if early is not None:
        schedule(application, early)
        return None
    if upcoming is not None:
        row.next_fire_at, row.status = naive(upcoming), TriggerStatus.ACTIVE
        schedule(application, row, chat_id)
    try:
        message = await application.bot.send_message(
            chat_id, text, parse_mode=ParseMode.HTML, reply_markup=ping_keyboard(recall_id, later)
        )
    except TelegramError as exc:
        # at most once: the firing is recorded, so this ping is not retried
        logger.warning(
            "ping of trigger %s (recall %s) not delivered: %s",
            trigger_id,
            recall_id,
            type(exc).__name__,
        )
        return recall_id
    logger.info("trigger %s fired: recall %s, message %s", trigger_id, recall_id, message.id)
    await followup.after_recall_sent(application, user_id, recall_id, message.id, hours)
    return recall_id


async def reschedule(application: BetweenApp, user: User, at_startup: bool = False) -> None:
    """Derives one person's trigger jobs from rows and catches up on missed pings.

    A trigger due while the bot was down is fired now if at most TRIGGER_GRACE late; older ones are
    counted as missed, advanced (a one-off is done), and the person gets one line about them.
    Recurring triggers are recomputed in the person's current time zone (after a change).
    """
    db = application.bot_data.sessionmaker
    if db is None:
        return
    now = utcnow()
    tz = zone_of(user)
    missed: list[str] = []
    async with db() as session, session.begin():
        triggers = TriggerRepository(session)
        for row in await triggers.active_time(user.id):
            spec = spec_of(row)
            due = row.next_fire_at
            if due is None or (due > now and row.recurrence != "once"):
                upcoming = next_fire(spec, aware(now), tz)
                row.next_fire_at = naive(upcoming) if upcoming else None
                if upcoming is None:
                    row.status = TriggerStatus.DONE
            elif due <= now - TRIGGER_GRACE:
                upcoming = after_firing(row, aware(now), tz)
                label = describe_trigger(row, tz, aware(now))
                nxt = naive(upcoming) if upcoming else None
                if await triggers.record_firing(user.id, row.id, due, nxt, now, missed=True):
                    missed.append(label)
                    logger.info("trigger %s missed while down (due %s)", row.id, due)
    async with db() as session:
        rows = await TriggerRepository(session).every(user.id)
    # an active time trigger gets its job (overdue within the grace: right away); any other
    # loses the job it had. By name, one lookup each: never a walk over everyone's jobs.
    for row in rows:
        schedule(application, row, user.chat_id)
    if missed:
        text = texts.TRG_MISSED.format(
            count=len(missed), which="; ".join(missed), them="it" if len(missed) == 1 else "them"
        )
        try:
            await application.bot.send_message(user.chat_id, text)
        except TelegramError as exc:
            logger.warning("missed-pings note for %s not sent: %s", user.id, type(exc).__name__)
