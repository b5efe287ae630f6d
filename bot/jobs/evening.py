"""The evening prompt: after each therapy session, the three questions at the evening time.

Rules (pure functions below, tested without a clock):

* Sessions are the person's `Schedule` (bot/schedule.py): weekly, every N weeks or
  irregular, with skipped and moved sessions left out or moved.
* The prompt goes out at `evening_time` (local) on the session's day when that is at least
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
from bot.clock import EVENING_CATCH_UP, localize, zone_of
from bot.context import BetweenApp, BotContext
from bot.jobs import snooze
from bot.jobs.queue import in_slot, remove_job, replace_job
from bot.schedule import Schedule
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


def prompt_for(session: datetime, evening_time: time, tz: tzinfo) -> datetime:
    """The prompt instant (aware UTC) for a session: its local day's evening, or the next
    day's when the evening comes less than MIN_GAP after the session starts."""
    start = session.astimezone(tz)
    offset = day_offset(start.time().replace(tzinfo=None), evening_time)
    return localize(start.date() + timedelta(days=offset), evening_time, tz)


def next_evening(
    schedule: Schedule, evening_time: time, after: datetime
) -> tuple[datetime, datetime] | None:
    """(prompt, session) of the first prompt strictly after `after`; None when no session
    is planned. A prompt comes at most two days after its session, so the search starts at
    the sessions of the two days before `after`."""
    session = schedule.next_after(after - timedelta(days=2))
    while session is not None:
        prompt = prompt_for(session, evening_time, schedule.tz)
        if prompt > after:
            return prompt, session
        session = schedule.next_after(session)
    return None


def last_evening(
    schedule: Schedule, evening_time: time, now: datetime
) -> tuple[datetime, datetime] | None:
    """(prompt, session) of the latest prompt at or before `now`, or None."""
    session = schedule.last_until(now)
    for _ in range(3):  # the latest session's prompt may still be ahead: then the one before
        if session is None:
            return None
        prompt = prompt_for(session, evening_time, schedule.tz)
        if prompt <= now:
            return prompt, session
        session = schedule.last_until(session - timedelta(microseconds=1))
    return None


def plan_evening(
    schedule: Schedule,
    evening_time: time,
    now: datetime,
    last_prompt_on: date | None,
    catch_up: bool = True,
) -> tuple[datetime, datetime, datetime] | None:
    """When to run the evening job, which prompt (due instant) it stands for, and its session.

    Returns:
        (run_at, due, session): with `catch_up`, `run_at` is `now` for a missed prompt
        within EVENING_CATCH_UP that was not handled yet; otherwise the next prompt. None
        when no session is planned.
    """
    tz = schedule.tz
    previous = last_evening(schedule, evening_time, now)
    if catch_up and previous is not None:
        due, session = previous
        if now - due <= EVENING_CATCH_UP and last_prompt_on != due.astimezone(tz).date():
            return now, due, session
    upcoming = next_evening(schedule, evening_time, now)
    if upcoming is None:
        return None
    return upcoming[0], upcoming[0], upcoming[1]


def plan(
    user: User, now: datetime, catch_up: bool = False
) -> tuple[datetime, datetime, datetime] | None:
    """`plan_evening` for one person's row: (run_at, due, session), or None without one."""
    if user.evening_time is None:
        return None
    schedule = Schedule.of(user)
    if not schedule.is_set:
        return None
    return plan_evening(schedule, user.evening_time, now, user.last_evening_prompt_on, catch_up)


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
        remove_job(application.job_queue, name, user_id=user.id)
        return None
    run_at, due, session = planned
    replace_job(
        application.job_queue,
        name,
        fire,
        when=run_at,
        data={"due": due.isoformat(), "session": session.isoformat()},
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
    if "due" not in data or "session" not in data:
        return
    due = datetime.fromisoformat(data["due"])
    async with context.db() as session, session.begin():
        user = await UserRepository(session).get(user_id)
        if user is None or user.evening_time is None:
            return
        tz = zone_of(user)
        prompt_day = due.astimezone(tz).date()
        therapy_day = datetime.fromisoformat(data["session"]).astimezone(tz).date()
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
            tonight = snooze.tonight_clock(user, datetime.now(UTC))  # Later buttons: sz:e:
            keyboard = evening_keyboard(prompt_day, tonight)
            await context.bot.send_message(chat_id, text, reply_markup=keyboard)
            logger.info("evening prompt sent to user %s", user_id)
        except TelegramError as exc:
            logger.warning("evening prompt to user %s failed: %s", user_id, type(exc).__name__)
    later = max(datetime.now(UTC), due) + timedelta(seconds=1)
    schedule(context.application, user, now=later)
