"""/wait: the demo's clock, fast-forwarded one scheduled job at a time.

The bot reads the time from the system clock (`storage.clock.utcnow`, `datetime.now`), and its
jobs run on PTB's JobQueue (APScheduler). time-machine moves the system clock for the whole
process, and ticks on from there in real time. Jumping straight to the target would leave
every job in between "missed" (and the follow-up a ping schedules would never exist), so the
clock moves to the earliest job, lets it run and settle, and looks again, as
tests/fast/test_three_weeks.py does. The repeating tidy job is not stepped to: it is let run
late, once (coalesced), wherever the clock lands.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Awaitable, Callable

import time_machine
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.moments import next_fire
from bot.timespec import parse_time_trigger

MAX_WAIT = dt.timedelta(days=60)
MAX_STEPS = 5000  # jobs run within one /wait, far more than two months of one person's
WAIT_HELP = "Try /wait 2d, /wait 3h 30m, /wait until thu 08:00 or /wait until 20:31."

_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(w|wk|weeks?|d|days?|h|hrs?|hours?|m|mins?|minutes?)\b")


def read_wait(text: str, now: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """The instant a /wait argument names: "2d", "1d 3h", "90m", "until thu 08:00".

    Args:
        text: what followed /wait.
        now: the demo clock (aware).
        zone: the person's zone, in which "until" times are read.

    Raises:
        ValueError: with a line to show, when the text is neither a span nor a time ahead.
    """
    text = " ".join(text.lower().split())
    if text.startswith("until "):
        try:
            when = next_fire(parse_time_trigger(text.removeprefix("until "), now, zone), now, zone)
        except ValueError:
            when = None
        if when is None:
            raise ValueError(f"I can't read that as a time ahead. {WAIT_HELP}")
        target = when + dt.timedelta(seconds=1)  # just after it, so what is due then runs
    else:
        parts = _PART.findall(text)
        if not parts or _PART.sub("", text).strip(" ,and"):
            raise ValueError(WAIT_HELP)
        span = dt.timedelta()
        for amount, unit in parts:
            span += dt.timedelta(**{_UNITS[unit[0]]: float(amount)})
        target = now + span
    if target - now > MAX_WAIT:
        raise ValueError("The demo waits at most 60 days at a time.")
    return target


def _catch_up_late(scheduler: AsyncIOScheduler) -> None:
    """Repeating jobs run once when the clock lands past them, instead of being skipped."""
    for job in scheduler.get_jobs():
        if isinstance(job.trigger, IntervalTrigger) and job.misfire_grace_time is not None:
            job.modify(misfire_grace_time=None, coalesce=True)


async def fast_forward(
    scheduler: AsyncIOScheduler,
    traveller: time_machine.Traveller,
    until: dt.datetime,
    settle: Callable[[], Awaitable[None]],
) -> int:
    """Moves the clock to `until`, running every one-shot job due on the way at its time.

    Args:
        scheduler: the JobQueue's scheduler.
        traveller: the running time-machine travel.
        until: where the clock ends (aware).
        settle: waits until the bot has finished what a job started (messages sent).

    Returns:
        How many steps were taken (jobs' times visited).
    """
    steps = 0
    while steps < MAX_STEPS:
        _catch_up_late(scheduler)
        due = [
            job.next_run_time
            for job in scheduler.get_jobs()
            if job.next_run_time is not None and not isinstance(job.trigger, IntervalTrigger)
        ]
        if not due or min(due) > until:
            break
        step = min(due) + dt.timedelta(milliseconds=1)
        if step > dt.datetime.now(dt.UTC):
            traveller.move_to(step)
        await _wake(scheduler)
        await settle()
        steps += 1
    if until > dt.datetime.now(dt.UTC):
        traveller.move_to(until)
    await _wake(scheduler)
    await settle()
    return steps


async def _wake(scheduler: AsyncIOScheduler) -> None:
    """Has APScheduler look at the clock now (it slept until the old clock's next job)."""
    scheduler.wakeup()  # call_soon_threadsafe: runs in one of the loop's next turns
    for _ in range(3):
        await asyncio.sleep(0)
