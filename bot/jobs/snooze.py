"""Snoozes: "Later" under a ping or the evening prompt brings it back once, at the time picked.

A press (`press`) validates the button against the person's rows and, in their transaction,
stores a `Snooze` row (storage/snoozes.py), then schedules the job `snooze:{id}` from it.
Jobs are derived from rows like every other job: `reschedule` re-creates them at startup (a
restart loses none; one missed by more than SNOOZE_GRACE is dropped), and firing claims the
row by deleting it in a transaction BEFORE the message is sent, so a snooze is sent at most
once even when two jobs race. The message sent again carries the Later buttons again, so it
can be snoozed again.

Choices: 20 minutes, 1 hour, or "tonight": the person's evening time today in their zone.
"Tonight" is offered only while that is still ahead (never with the evening prompt off); a
press after it has passed is answered and the button taken away.

What comes back:

* a ping: the trigger's paragraph as a new ping (a new Recall row: "I read it", the
  follow-up and the digest count it as the delivery it is); snoozing drops the pending
  "How did it go?" of the ping that was put off. A ping button older than SNOOZE_MAX_AGE is
  stale (the answer says so).
* the evening prompt: the prompt of the date on its button, only while that is the latest
  prompt (`User.last_evening_prompt_on`) and no paragraph was saved for its session; one
  saved meanwhile makes the snoozed prompt unnecessary, and it is not sent.

Logs carry ids and times only.
"""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot import texts
from bot.clock import SNOOZE_GRACE, aware, localize, naive, utcnow, zone_of
from bot.context import BetweenApp, BotContext
from bot.jobs import followup
from bot.jobs.queue import remove_job, replace_job
from bot.schedule import last_therapy
from bot.views import (
    SNOOZE_MINUTES,
    SNOOZE_PREFIX,
    SNOOZE_TONIGHT,
    cue_text,
    evening_keyboard,
    ping_keyboard,
    ping_text,
)
from storage.captures import CaptureRepository
from storage.models import RecallSource, Snooze, SnoozeKind, User
from storage.recalls import RecallRepository
from storage.reflections import ReflectionRepository
from storage.snoozes import SnoozeRepository
from storage.triggers import TriggerRepository
from storage.users import UserRepository

logger = logging.getLogger(__name__)

JOB_PREFIX = "snooze:"
DUE_SLACK = timedelta(seconds=2)  # a job may wake a hair before the stored instant
SOON = timedelta(milliseconds=50)  # an overdue snooze is sent right away, not in the past
SNOOZE_MAX_AGE = timedelta(hours=24)  # a ping older than this is not snoozed any more
_DATA = re.compile(rf"^{SNOOZE_PREFIX}(?:p:(\d{{1,18}})|e:(\d{{8}})):(20|60|{SNOOZE_TONIGHT})$")


def job_name(snooze_id: int) -> str:
    return f"{JOB_PREFIX}{snooze_id}"


# ---------------------------------------------------------------------- pure rules


def tonight(user: User, now: datetime) -> datetime | None:
    """The person's evening time today in their zone (aware UTC) while it is after `now`;
    None once it has passed, or with the evening prompt off."""
    if user.evening_time is None:
        return None
    tz = zone_of(user)
    instant = localize(now.astimezone(tz).date(), user.evening_time, tz)
    return instant if instant > now else None


def tonight_clock(user: User, now: datetime) -> time | None:
    """The evening time to show on a "Tonight" button, or None when there is none today."""
    return user.evening_time if tonight(user, now) is not None else None


def due_for(choice: str, user: User, now: datetime) -> datetime | None:
    """When a snooze picked at `now` (aware) comes back; None for "tonight" without one."""
    if choice == SNOOZE_TONIGHT:
        return tonight(user, now)
    minutes = SNOOZE_MINUTES.get(choice)
    return None if minutes is None else now + timedelta(minutes=minutes)


def plan(due_at: datetime, now: datetime) -> datetime | None:
    """When the job of a snooze due at `due_at` runs (naive UTC in, aware out); None when it
    is more than SNOOZE_GRACE late (the bot was down: it is dropped, not sent late)."""
    if due_at < now - SNOOZE_GRACE:
        return None
    return aware(max(due_at, now + SOON))


@dataclass(frozen=True)
class Button:
    """A Later button as pressed: a ping's recall, or the evening prompt's local date."""

    choice: str
    recall_id: int | None = None
    day: date | None = None


def parse(data: str) -> Button | None:
    """The Later button in callback data, or None when it is not one (forged, cut)."""
    found = _DATA.match(data)
    if found is None:
        return None
    recall_id, day, choice = found.groups()
    if recall_id is not None:
        return Button(choice, recall_id=int(recall_id))
    try:
        return Button(choice, day=datetime.strptime(day, "%Y%m%d").date())
    except ValueError:
        return None


# ---------------------------------------------------------------------- a press


class Outcome(enum.Enum):
    SNOOZED = "snoozed"
    NO_TONIGHT = "no_tonight"  # "tonight" when the evening time has passed (or is off)
    STALE = "stale"  # a ping too old, or an evening prompt that is not the latest
    WRITTEN = "written"  # the evening prompt's paragraph is saved already
    GONE = "gone"  # not a button of this person's (forged, or its rows are gone)


@dataclass(frozen=True)
class Pressed:
    """What a press did, for the handler's answer."""

    outcome: Outcome
    tz: tzinfo = UTC
    due: datetime | None = None  # aware, when snoozed
    keyboard: InlineKeyboardMarkup | None = None  # the buttons without "tonight"


async def press(application: BetweenApp, user_id: int, data: str) -> Pressed:
    """Stores the snooze a Later button asks for and schedules it.

    Args:
        application: the running application.
        user_id: the person who pressed (every row is looked up as theirs).
        data: the button's callback data.

    Returns:
        What happened: snoozed until when, or why not.
    """
    button = parse(data)
    db = application.bot_data.sessionmaker
    if button is None or db is None:
        return Pressed(Outcome.GONE)
    now = datetime.now(UTC)
    dropped: int | None = None
    async with db() as session, session.begin():
        user = await UserRepository(session).get(user_id)
        if user is None:
            return Pressed(Outcome.GONE)
        tz = zone_of(user)
        if button.recall_id is not None:
            recall = await RecallRepository(session).get(user_id, button.recall_id)
            row = (
                await TriggerRepository(session).get(user_id, recall.trigger_id)
                if recall is not None and recall.trigger_id is not None
                else None
            )
            if recall is None or row is None or recall.source != RecallSource.PING:
                return Pressed(Outcome.GONE, tz)
            if aware(recall.created_at) < now - SNOOZE_MAX_AGE:
                return Pressed(Outcome.STALE, tz)
            due = due_for(button.choice, user, now)
            if due is None:
                return Pressed(Outcome.NO_TONIGHT, tz, keyboard=ping_keyboard(recall.id))
            snooze = await SnoozeRepository(session).put(
                user_id, SnoozeKind.PING, row.id, naive(due)
            )
            if recall.followup_sent_at is None and recall.followup_due_at is not None:
                recall.followup_due_at, dropped = None, recall.id  # asked after it comes back
        else:
            day = button.day
            if day is None or user.last_evening_prompt_on != day:
                return Pressed(Outcome.STALE, tz)
            if await _saved_for(session, user, day, now):
                return Pressed(Outcome.WRITTEN, tz)
            due = due_for(button.choice, user, now)
            if due is None:
                return Pressed(Outcome.NO_TONIGHT, tz, keyboard=evening_keyboard(day))
            snooze = await SnoozeRepository(session).put(
                user_id, SnoozeKind.EVENING, None, naive(due)
            )
        snooze_id = snooze.id
    if dropped is not None:
        remove_job(application.job_queue, followup.job_name(dropped), user_id=user_id)
    schedule(application, user_id, snooze_id, due)
    logger.info("snooze %s of user %s due at %s", snooze_id, user_id, due.isoformat())
    return Pressed(Outcome.SNOOZED, tz, due)


async def _saved_for(session: AsyncSession, user: User, day: date, now: datetime) -> bool:
    """Whether a paragraph is saved for the session the evening prompt of `day` is about."""
    first = _therapy_day(user, day, now)
    return await ReflectionRepository(session).saved_between(user.id, first, day) is not None


def _therapy_day(user: User, day: date, now: datetime) -> date:
    """The local date of the session an evening prompt of `day` is about (`day` itself when
    no session is found: the schedule was turned off meanwhile)."""
    found = last_therapy(user, now)
    return min(found[0], day) if found is not None else day


# ---------------------------------------------------------------------- the job


def schedule(application: BetweenApp, user_id: int, snooze_id: int, when: datetime) -> None:
    """(Re)creates the job of one snooze at `when` (aware)."""
    replace_job(
        application.job_queue,
        job_name(snooze_id),
        fire,
        when,
        data=snooze_id,
        user_id=user_id,
    )


async def fire(context: BotContext) -> None:
    """Sends the snooze this job was made for."""
    job = context.job
    if job is not None and job.user_id is not None and isinstance(job.data, int):
        await send(context.application, job.user_id, job.data)


@dataclass(frozen=True)
class _Message:
    chat_id: int
    text: str
    keyboard: InlineKeyboardMarkup
    html: bool = False
    recall_id: int | None = None
    followup_hours: float = 3.0


async def send(application: BetweenApp, user_id: int, snooze_id: int) -> bool:
    """Claims one due snooze (deleting its row), then sends what it brings back.

    Args:
        application: the running application.
        user_id: the person it belongs to.
        snooze_id: the snooze whose job woke up.

    Returns:
        True when this call claimed it and the message went out.
    """
    db = application.bot_data.sessionmaker
    if db is None:
        return False
    now = utcnow()
    async with db() as session, session.begin():
        snoozes = SnoozeRepository(session)
        row = await snoozes.get(user_id, snooze_id)
        if row is None:
            logger.info("snooze %s woke up but is gone (sent or replaced)", snooze_id)
            return False
        if row.due_at > now + DUE_SLACK:
            early = row.due_at
        else:
            early = None
            claimed = await snoozes.claim(user_id, snooze_id)
            user = await UserRepository(session).get(user_id)
            if claimed is None or user is None:
                logger.info("snooze %s: already taken", snooze_id)
                return False
            message = await _compose(session, user, claimed, aware(now))
    if early is not None:
        logger.info("snooze %s woke up early; rescheduled", snooze_id)
        schedule(application, user_id, snooze_id, aware(early))
        return False
    if message is None:
        return False
    try:
        sent = await application.bot.send_message(
            message.chat_id,
            message.text,
            parse_mode=ParseMode.HTML if message.html else None,
            reply_markup=message.keyboard,
        )
    except TelegramError as exc:
        # at most once: the row is claimed, so this one is not sent again
        logger.warning("snooze %s not delivered: %s", snooze_id, type(exc).__name__)
        return False
    logger.info("snooze %s of user %s sent as message %s", snooze_id, user_id, sent.id)
    if message.recall_id is not None:
        await followup.after_recall_sent(
            application, user_id, message.recall_id, sent.id, message.followup_hours
        )
    return True


async def _compose(
    session: AsyncSession, user: User, row: Snooze, now: datetime
) -> _Message | None:
    """The message a claimed snooze brings back (recording the ping's Recall), or None."""
    tz = zone_of(user)
    later = tonight_clock(user, now)
    if row.kind == SnoozeKind.PING:
        trigger = (
            await TriggerRepository(session).get(user.id, row.trigger_id)
            if row.trigger_id is not None
            else None
        )
        if trigger is None:
            logger.info("snooze %s: its trigger is gone", row.id)
            return None
        paragraphs = ReflectionRepository(session)
        reflection = (
            await paragraphs.saved(user.id, trigger.reflection_id)
            if trigger.reflection_id
            else None
        )
        recall = await RecallRepository(session).add(
            user.id, reflection.id if reflection else None, RecallSource.PING, trigger.id
        )
        return _Message(
            user.chat_id,
            ping_text(reflection, trigger, tz, now),
            ping_keyboard(recall.id, later),
            html=True,
            recall_id=recall.id,
            followup_hours=user.followup_hours,
        )
    day = user.last_evening_prompt_on or now.astimezone(tz).date()
    if await _saved_for(session, user, day, now):
        logger.info("snooze %s not needed: the reflection is saved", row.id)
        return None
    first = _therapy_day(user, day, now)
    cue = cue_text(await CaptureRepository(session).between(user.id, first, day), tz)
    return _Message(
        user.chat_id,
        texts.EVENING_PROMPT.format(cue=cue or texts.EVENING_NOTHING),
        evening_keyboard(day, later),
    )


async def reschedule(application: BetweenApp, user: User, at_startup: bool = False) -> None:
    """Re-creates one person's snooze jobs from their rows; one more than SNOOZE_GRACE late
    (the bot was down) is dropped, not sent hours after the moment it was meant for."""
    db = application.bot_data.sessionmaker
    if db is None:
        return
    now = utcnow()
    keep: list[tuple[int, datetime]] = []
    dropped: list[int] = []
    async with db() as session, session.begin():
        snoozes = SnoozeRepository(session)
        for row in await snoozes.pending(user.id):
            when = plan(row.due_at, now)
            if when is None:
                await snoozes.drop(user.id, row.id)
                dropped.append(row.id)
                logger.info("snooze %s missed while down (due %s); dropped", row.id, row.due_at)
            else:
                keep.append((row.id, when))
    for snooze_id in dropped:  # by name: never a walk over every scheduled job
        remove_job(application.job_queue, job_name(snooze_id), user_id=user.id)
    for snooze_id, when in keep:
        schedule(application, user.id, snooze_id, when)
