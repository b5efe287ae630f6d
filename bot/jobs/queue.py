"""Derived jobs on PTB's JobQueue: one-shot, named after their row, replaced on every change.

Names are stable (`evening:{user}`, `trigger:{id}`, `followup:{recall}`, `digest:{user}`), so
scheduling a job again replaces it instead of adding a second one.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from telegram.ext import Job, JobQueue

from bot.context import BotContext


def replace_job(
    job_queue: JobQueue[BotContext] | None,
    name: str,
    callback: Callable[[BotContext], Coroutine[Any, Any, object]],
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
