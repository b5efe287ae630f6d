"""The evening prompt: on a therapy day, offer the three questions at the person's evening time.

Rules (pure functions below, tested without a clock):

* The prompt goes out at `evening_time` (local) on the therapy day when that is at least
  `MIN_GAP` (1 h) after the session starts; otherwise (a late session, e.g. therapy 20:00
  with the evening at 20:30) on the day after, at the same evening time.
* Wall times are resolved in the person's zone (DST-safe: see `bot.clock`), one job
  `evening:{user_id}` per person, re-derived from the row.
* A prompt due while the bot was down is sent once on startup if it is at most
  `EVENING_CATCH_UP` (3 h) late; later than that it is skipped and the next week's is scheduled.
* `User.last_evening_prompt_on` records the local date whose prompt was handled (sent, or not
  needed because the reflection was already saved), so a day is never prompted twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from telegram.error import TelegramError

from bot import texts
from bot.clock import EVENING_CATCH_UP, last_weekly, next_weekly, zone_of
from bot.context import BetweenApp, BotContext
from bot.jobs.queue import in_slot, remove_job, replace_job
from bot.views import cue_text, evening_keyboard
from storage.captures import CaptureRepository
from storage.models import User
from storage.reflections import ReflectionRepository
from storage.users import UserRepository

logger = logging.getLogger(__name__)

MIN_GAP = timedelta(hours=1)  # the prompt never comes sooner than this after the session starts


# ---------------------------------------------------------------------- pure time logic


def day_offset(therapy_time: time, evening_time: time) -> int:
    """0 when the evening prompt fits on the therapy day itself, 1 when it goes the day after."""
    start = datetime.combine(date(2000, 1, 3), therapy_time)
    return 0 if datetime.combine(start.date(), evening_time) >= start + MIN_GAP else 1


def next_evening(
    weekday: int, therapy_time: time, evening_time: time, tz: tzinfo, after: datetime
) -> datetime:
    """The next prompt instant (aware UTC) strictly after `after`.

    Args:
        weekday: the therapy weekday, 0 = Monday.
        therapy_time: when the session starts, local.
        evening_time: when to offer the questions, local.
        tz: the person's zone.
        after: an aware instant.
    """
    offset = day_offset(therapy_time, evening_time)
    return next_weekly((weekday + offset) % 7, evening_time, tz, after)


def last_evening(
    weekday: int, therapy_time: time, evening_time: time, tz: tzinfo, now: datetime
) -> datetime:
    """The latest prompt instant at or before `now` (aware UTC)."""
    offset = day_offset(therapy_time, evening_time)
    return last_weekly((weekday + offset) % 7, evening_time, tz, now)


def plan_evening(
    weekday: int,
    therapy_time: time,
    evening_time: time,
    tz: tzinfo,
    now: datetime,
    last_prompt_on: date | None,
    catch_up: bool = True,
) -> tuple[datetime, datetime]:
    """When to run the evening job, and which prompt (due instant) it stands for.

    Returns:
        (run_at, due): with `catch_up`, `run_at` is `now` for a missed prompt within
        EVENING_CATCH_UP that was not handled yet; otherwise the next due instant.
    """
    previous = last_evening(weekday, therapy_time, evening_time, tz, now)
    missed = now - previous <= EVENING_CATCH_UP and last_prompt_on != previous.astimezone(tz).date()
    if catch_up and missed:
        return now, previous
    upcoming = next_evening(weekday, therapy_time, evening_time, tz, now)
    return upcoming, upcoming


def plan(user: User, now: datetime, catch_up: bool = False) -> tuple[datetime, datetime] | None:
    """`plan_evening` for one person's row: (run_at, due), or None without an evening prompt."""
    if user.therapy_weekday is None or user.therapy_time is None or user.evening_time is None:
        return None
    return plan_evening(
        user.therapy_weekday,
        user.therapy_time,
        user.evening_time,
        zone_of(user),
        now,
        user.last_evening_prompt_on,
        catch_up,
    )


def therapy_day_of(prompt_day: date, therapy_time: time, evening_time: time) -> date:
    """The therapy day a prompt on `prompt_day` is about."""
    return prompt_day - timedelta(days=day_offset(therapy_time, evening_time))


# ---------------------------------------------------------------------- the job


def job_name(user_id: int) -> str:
    return f"evening:{user_id}"


def schedule(
    application: BetweenApp, user: User, now: datetime | None = None, catch_up: bool = False
) -> datetime | None:
    """(Re)creates the person's evening job from their row; removes it when turned off.

    Args:
        application: the running application (its JobQueue).
        user: the person's row (therapy day and time, evening time, zone).
        now: aware "now" (tests); default the current time.
        catch_up: send a prompt missed within EVENING_CATCH_UP now (at startup only: a
            settings change in the evening must not prompt in the middle of onboarding).

    Returns:
        When the job runs (aware UTC), or None when there is no evening prompt.
    """
    name = job_name(user.id)
    planned = plan(user, now or datetime.now(UTC), catch_up)
    if planned is None:
        remove_job(application.job_queue, name)
        return None
    run_at, due = planned
    replace_job(
        application.job_queue,
        name,
        fire,
        when=run_at,
        data={"due": due.isoformat()},
        user_id=user.id,
        chat_id=user.chat_id,
    )
    logger.debug("evening prompt for user %s scheduled at %s", user.id, run_at.isoformat())
    return run_at


async def reschedule(application: BetweenApp, user: User, at_startup: bool) -> None:
    """Re-derives the job; at startup it also sends, once, a prompt missed by at most 3 h."""
    schedule(application, user, catch_up=at_startup)


async def fire(context: BotContext) -> None:
    """Sends the evening prompt unless this day was handled; then schedules next week's."""
    job = context.job
    if job is None or job.user_id is None:
        return
    user_id, data = job.user_id, job.data
    await in_slot(
        context.application, f"evening of {user_id}", lambda: _prompt(context, user_id, data)
    )


async def _prompt(context: BotContext, user_id: int, job_data: object) -> None:
    data = job_data if isinstance(job_data, dict) else {}
    due = datetime.fromisoformat(data["due"]) if "due" in data else datetime.now(UTC)
    async with context.db() as session, session.begin():
        user = await UserRepository(session).get(user_id)
        if (
            user is None
            or user.therapy_weekday is None
            or user.therapy_time is None
            or user.evening_time is None
        ):
            return
        tz = zone_of(user)
        prompt_day = due.astimezone(tz).date()
        therapy_day = therapy_day_of(prompt_day, user.therapy_time, user.evening_time)
        repo = ReflectionRepository(session)
        if user.last_evening_prompt_on == prompt_day:
            text = None
        elif await repo.saved_between(user.id, therapy_day, prompt_day) is not None:
            text = None
            user.last_evening_prompt_on = prompt_day
            logger.info("evening prompt for user %s not needed: reflection saved", user.id)
        else:
            cue = cue_text(
                await CaptureRepository(session).between(user.id, therapy_day, prompt_day), tz
            )
            text = texts.EVENING_PROMPT.format(cue=cue or texts.EVENING_NOTHING)
            user.last_evening_prompt_on = prompt_day
        chat_id = user.chat_id
    if text is not None:
        try:
            await context.bot.send_message(chat_id, text, reply_markup=evening_keyboard())
            logger.info("evening prompt sent to user %s", user_id)
        except TelegramError as exc:
            logger.warning("evening prompt to user %s failed: %s", user_id, type(exc).__name__)
    later = max(datetime.now(UTC), due) + timedelta(seconds=1)
    schedule(context.application, user, now=later)
