"""Scheduled jobs: the database is the only truth, every job is derived from rows.

One module per job (`evening`, `trigger`, `followup`, `digest`, `tidy`), each with a pure
`plan(...)` (when the job for a row should next run, or None) and `fire(context)` (the
JobQueue callback). `JOBS` lists the per-person jobs in the order they are derived; this
package runs them for everyone at startup (catching up on what fell due while the bot was
down, within each job's grace in `bot.clock`) and for one person after their settings change
(no catch-up: a change must not send anything on the spot). Tidy mode runs for everyone on
an interval and starts last.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.context import BetweenApp
from bot.jobs import digest, evening, followup, snooze, tidy, trigger
from bot.jobs.queue import registering, remove_user_jobs
from storage.models import User
from storage.users import UserRepository

__all__ = ["JOBS", "rebuild_all", "remove_user_jobs", "reschedule_user"]

logger = logging.getLogger(__name__)

# (application, person, at_startup): at startup a job may also catch up on what fell due
# while the bot was down; after a settings change it must not
Reschedule = Callable[[BetweenApp, User, bool], Awaitable[None]]

JOBS: tuple[Reschedule, ...] = (
    evening.reschedule,
    trigger.reschedule,
    followup.reschedule,
    digest.reschedule,
    snooze.reschedule,
)


async def reschedule_user(application: BetweenApp, user_id: int) -> None:
    """Re-derives every job of one person from their rows (after a settings change)."""
    db = application.bot_data.sessionmaker
    if db is None:
        return
    async with db() as session:
        user = await UserRepository(session).get(user_id)
    if user is None:
        remove_user_jobs(application.job_queue, user_id)
        return
    for reschedule in JOBS:
        await reschedule(application, user, False)


async def rebuild_all(application: BetweenApp) -> None:
    """Derives every person's jobs from the database, catching up on missed ones (startup)."""
    db = application.bot_data.sessionmaker
    if db is None:
        raise RuntimeError("database is not open yet (post_init has not run)")
    async with db() as session:
        users = await UserRepository(session).everyone()
    async with registering(application.job_queue):  # jobs due already fire after, not during
        for user in users:
            for reschedule in JOBS:
                try:
                    await reschedule(application, user, True)
                except Exception:
                    logger.exception("could not schedule jobs for user %s", user.id)
        tidy.start(application)
    logger.info("schedules rebuilt for %d people", len(users))
