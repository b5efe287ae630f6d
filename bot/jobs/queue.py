"""Derived jobs on PTB's JobQueue: one-shot, named after their row, replaced on every change.

Names are stable (`evening:{user}`, `trigger:{id}`, `followup:{recall}`, `digest:{user}`) and
each is also the job's APScheduler id, so scheduling a job again replaces it instead of adding
a second one, and finding it is one lookup in APScheduler's job store (by id) instead of a walk
over every job: `JobQueue.get_jobs_by_name` wraps and regex-matches every scheduled job, which
made registering N jobs O(N²) (10,000 triggers took minutes at startup). PTB's own jobs
(conversation timeouts, `capture:retry`) keep APScheduler's random ids.

While the scheduler is stopped (before `Application.start`), APScheduler keeps added jobs in a
pending list that every lookup walks; `registering` starts it paused for a bulk registration
(`rebuild_all` in post_init), so they go to the job store at once, and resumes it after.

Jobs that fan out (a thousand pings due at 09:00, the evening prompts of everyone whose session
was today) each take a slot of `Services.firings` while they run (`in_slot`): a bounded number
read and write the database at once, instead of thousands of transactions queueing on SQLite's
write lock (past busy_timeout: "database is locked") or the connection pool (past its 30 s
timeout), each failure a ping lost and, for a recurring one, no job for its next time. A
transaction the database still refuses is run again after a pause.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from telegram.ext import Job, JobQueue

from bot.context import BetweenApp, BotContext
from storage.db import busy_retry


def _elsewhere(job_queue: JobQueue[BotContext] | None, user_id: int) -> bool:
    """True (and the leader told) when another replica runs the jobs; False when this one does."""
    if job_queue is None:
        return False
    application: BetweenApp = job_queue.application
    leadership = application.bot_data.leadership
    if leadership is None or leadership.leading:
        return False
    leadership.changed(user_id)
    return True


def replace_job(
    job_queue: JobQueue[BotContext] | None,
    name: str,
    callback: Callable[[BotContext], Coroutine[Any, Any, object]],
    when: datetime,
    data: object = None,
    *,
    user_id: int,
    chat_id: int | None = None,
) -> Job[BotContext] | None:
    """Schedules `callback` once at `when` under `name`, replacing any job of that name.

    On a replica that does not run the jobs, tells the leader about `user_id` instead.
    """
    if job_queue is None or _elsewhere(job_queue, user_id):
        return None
    return job_queue.run_once(
        callback,
        when=when,
        name=name,
        data=data,
        user_id=user_id,
        chat_id=chat_id,
        job_kwargs={
            "id": name,
            "replace_existing": True,
            "misfire_grace_time": None,
            "coalesce": True,
        },
    )


def find_job(job_queue: JobQueue[BotContext] | None, name: str) -> Job[BotContext] | None:
    """The job scheduled under `name` (its id), if any: one lookup, not a walk over all jobs."""
    if job_queue is None:
        return None
    aps_job = job_queue.scheduler.get_job(name)
    return None if aps_job is None else Job.from_aps_job(aps_job)


def remove_job(job_queue: JobQueue[BotContext] | None, name: str, *, user_id: int) -> None:
    """Removes the job called `name` (one of `user_id`'s), if it is scheduled."""
    if _elsewhere(job_queue, user_id):
        return
    job = find_job(job_queue, name)
    if job is not None:
        job.schedule_removal()


def remove_user_jobs(job_queue: JobQueue[BotContext] | None, user_id: int) -> int:
    """Removes every job scheduled for one person (after /delete); returns how many."""
    if job_queue is None or _elsewhere(job_queue, user_id):
        return 0
    jobs = [job for job in job_queue.jobs() if job.user_id == user_id]
    for job in jobs:
        job.schedule_removal()
    return len(jobs)


def remove_derived_jobs(job_queue: JobQueue[BotContext] | None, user_id: int | None = None) -> int:
    """Removes the jobs derived from rows (of one person, or everyone's); returns how many.

    Derived jobs are the ones registered by name as their APScheduler id (`replace_job`,
    tidy); PTB's own jobs (conversation timeouts) have random ids and stay.
    """
    if job_queue is None:
        return 0
    removed = 0
    for aps_job in job_queue.scheduler.get_jobs():
        if aps_job.id != aps_job.name:
            continue
        job: Job[BotContext] = Job.from_aps_job(aps_job)
        if user_id is None or job.user_id == user_id:
            job.schedule_removal()
            removed += 1
    return removed


@asynccontextmanager
async def registering(job_queue: JobQueue[BotContext] | None) -> AsyncIterator[None]:
    """Holds job processing while many jobs are registered; starts a stopped scheduler paused.

    A scheduler that was not running yet is left running (resumed) afterwards, as
    `Application.start` would leave it (it starts the JobQueue only when it is not running).
    """
    scheduler = None if job_queue is None else job_queue.scheduler
    started_here = scheduler is not None and not scheduler.running
    if started_here:
        assert scheduler is not None
        scheduler.start(paused=True)
    try:
        yield
    finally:
        if started_here:
            assert scheduler is not None
            scheduler.resume()


async def in_slot(
    application: BetweenApp, what: str, work: Callable[[], Awaitable[object]]
) -> None:
    """Runs a scheduled job's work in one of the `Services.firings` slots.

    Work the database refused for a moment is run again (`storage.db.busy_retry`): every job
    claims what it sends with a compare-and-set first, so a second run never sends it twice.
    """
    async with application.bot_data.firings:
        await busy_retry(work, what)
