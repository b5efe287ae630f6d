"""The database is the only truth for schedules: jobs are derived from rows.

Each flow registers a `UserScheduler` (evening prompt, weekly digest, time triggers,
follow-ups) that (re)creates one person's JobQueue jobs from their rows; this module
runs them for everyone at startup and for one person after their settings change.
Job names are stable (`evening:{user}`, `trigger:{id}`), so rescheduling replaces.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from telegram.ext import Job, JobQueue

from bot.context import BetweenApp, BotContext
from storage.users import UserRepository

logger = logging.getLogger(__name__)


async def reschedule_user(application: BetweenApp, user_id: int) -> None:
    """Re-derives every job of one person from their rows (after a settings change)."""
    services = application.bot_data
    if services.sessionmaker is None:
        return
    async with services.sessionmaker() as session:
        user = await UserRepository(session).get(user_id)
    if user is None:
        remove_user_jobs(application.job_queue, user_id)
        return
    for scheduler in services.user_schedulers:
        await scheduler(application, user, False)


async def rebuild_all(application: BetweenApp) -> None:
    """Derives every person's jobs from the database and catches up on missed ones (startup)."""
    services = application.bot_data
    assert services.sessionmaker is not None
    async with services.sessionmaker() as session:
        users = await UserRepository(session).everyone()
    for user in users:
        for scheduler in services.user_schedulers:
            try:
                await scheduler(application, user, True)
            except Exception:
                logger.exception("could not schedule jobs for user %s", user.id)
    logger.info("schedules rebuilt for %d people", len(users))


def replace_job(
    job_queue: JobQueue[BotContext] | None,
    name: str,
    callback: Callable[[BotContext], Awaitable[object]],
    when: datetime,
    data: object = None,
    user_id: int | None = None,
    chat_id: int | None = None,
) -> Job[BotContext] | None:
    """Schedules `callback` once at `when` under `name`, replacing any job of that name."""
    if job_queue is None:
        return None
    remove_job(job_queue, name)
    return job_queue.run_once(
        callback,
        when=when,
        name=name,
        data=data,
        user_id=user_id,
        chat_id=chat_id,
        job_kwargs={"misfire_grace_time": None, "coalesce": True},
    )


def remove_job(job_queue: JobQueue[BotContext] | None, name: str) -> None:
    """Removes the job called `name`, if it is scheduled."""
    if job_queue is not None:
        for job in job_queue.get_jobs_by_name(name):
            job.schedule_removal()


def remove_user_jobs(job_queue: JobQueue[BotContext] | None, user_id: int) -> int:
    """Removes every job scheduled for one person (after /delete); returns how many."""
    if job_queue is None:
        return 0
    jobs = [job for job in job_queue.jobs() if job.user_id == user_id]
    for job in jobs:
        job.schedule_removal()
    return len(jobs)
