"""One scheduler among replicas: the replica holding a PostgreSQL advisory lock runs the jobs.

Several bot processes may share one PostgreSQL database (webhook replicas behind one URL).
Each would otherwise derive every person's jobs from the rows and fire them: the claims in
the database keep a ping from going out twice, but every replica would still do the work.
So exactly one replica, the leader, keeps the derived jobs (trigger, evening, follow-up,
digest, snooze, tidy) on its JobQueue and runs the startup retry of unfinished memos. PTB's
own jobs (conversation timeouts) stay with the replica that handled the conversation.

How: every replica holds one dedicated asyncpg connection and asks for a session-level
advisory lock (`pg_try_advisory_lock`) every `check` seconds until it gets it. The holder is
the leader: it derives every job from the rows (`bot.jobs.rebuild_all`, catching up on what
fell due meanwhile, within each job's grace) and LISTENs on `between_jobs`. Its lock lives
exactly as long as its connection, so a leader that dies (killed, crashed, cut off) lets go
of it: PostgreSQL ends a killed process's session at once, and the session of a leader whose
host went silent (a crash, a partition) once its TCP keepalive probes go unanswered (about
25 s). Another replica takes over within `check` seconds of that. The rebuild after winning
runs as a task, so the checks go on while it takes its minute. A leader whose check fails
steps down at once (drops its derived jobs) and campaigns again, so two replicas fire at the
same time only inside that short window, and even then the database's claims (a ping's
compare-and-set on `next_fire_at`, a follow-up's `followup_sent_at`, a snooze's row deleted)
let each message out once.

A replica that is not the leader never keeps derived jobs: when a person changes something
there (a new trigger, a snooze, new settings), `bot.jobs.queue` hands the person's id to
`changed()`, which NOTIFYs the leader, and the leader derives that person's jobs again from
the committed rows (`replan`). A notification lost while no one leads costs nothing: the
next leader derives everything from the rows anyway.

On SQLite there is one process by construction, so there is no election: that process leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    import asyncpg

    from bot.context import BetweenApp

logger = logging.getLogger(__name__)

LOCK_KEY = 0x6265_7477_6565_6E53  # "betweenS" in ASCII: the scheduler lock (storage.db's
# MIGRATE_LOCK is "between"; a person's lock, bot/replicas.lock_key, is a hash)
CHANNEL = "between_jobs"
CHECK_TIMEOUT = 5.0  # a lock check slower than this counts as a lost connection


def postgres_dsn(database_url: str) -> str | None:
    """The libpq-style DSN of a PostgreSQL SQLAlchemy URL (for asyncpg); None for others."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class Leadership:
    """This replica's part in the election; `leading` says whether it runs the jobs now.

    Args:
        application: the running application (its JobQueue, database and settings).
        dsn: the PostgreSQL database the replicas share (`postgres_dsn`).
        check: seconds between lock attempts (and, while leading, connection checks).
    """

    def __init__(self, application: BetweenApp, dsn: str, check: float) -> None:
        self.application = application
        self.dsn = dsn
        self.check = check
        self.leading = False
        self._conn: asyncpg.Connection | None = None
        self._campaign: asyncio.Task[None] | None = None
        self._changed: set[int] = set()
        self._notifier: asyncio.Task[None] | None = None
        self._replans: set[asyncio.Task[None]] = set()
        self._told_waiting = False
        self._taking_over: asyncio.Task[None] | None = None  # the rebuild after winning

    async def start(self) -> None:
        """Tries for the lock once now (a lone replica leads from its first moment), then keeps
        trying, or keeps checking that it still holds it, in the background."""
        await self._attempt()
        if self._taking_over is not None:
            await self._taking_over  # as without replicas: jobs exist once post_init is done
        self._campaign = asyncio.create_task(self._campaign_loop(), name="leader campaign")

    async def stop(self) -> None:
        """Stops campaigning and closes the connection, which releases the lock at once."""
        for task in (self._campaign, self._taking_over, self._notifier, *self._replans):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._campaign = self._taking_over = self._notifier = None
        await self._flush()  # what a person changed here still reaches the next leader
        await self._close()
        self.leading = False

    # ------------------------------------------------------------------ the election

    async def _campaign_loop(self) -> None:
        while True:
            await asyncio.sleep(self.check)
            await self._attempt()

    async def _attempt(self) -> None:
        """One round: get the lock if free, or make sure it is still held."""
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await self._connect()
            if self.leading:
                await self._conn.fetchval("SELECT 1", timeout=CHECK_TIMEOUT)
                return
            got = await self._conn.fetchval(
                "SELECT pg_try_advisory_lock($1)", LOCK_KEY, timeout=CHECK_TIMEOUT
            )
        except Exception as exc:  # any failure here means the lock may be gone: let go of it
            logger.warning("scheduler lock check failed: %s", type(exc).__name__)
            await self._step_down()
            await self._close()
            return
        if got:
            await self._lead()  # the rebuild runs as a task: checks go on meanwhile
        elif not self._told_waiting:
            self._told_waiting = True
            logger.info("another replica runs the scheduled jobs; this one takes over if it stops")

    async def _connect(self) -> asyncpg.Connection:
        import asyncpg

        # the server probes a leader's host that went silent and ends its session (so the
        # lock) after about 10 + 5 x 3 s; a rebuild of 10,000 people may keep the connection
        # idle for a minute or more, so idle_session_timeout would cut off a healthy leader
        return await asyncpg.connect(
            self.dsn,
            timeout=CHECK_TIMEOUT,
            server_settings={
                "application_name": "between scheduler",
                "tcp_keepalives_idle": "10",
                "tcp_keepalives_interval": "5",
                "tcp_keepalives_count": "3",
            },
        )

    async def _lead(self) -> None:
        assert self._conn is not None
        self.leading = True
        logger.info("this replica now runs the scheduled jobs")
        await self._conn.add_listener(CHANNEL, self._on_notify)
        self._taking_over = asyncio.create_task(self._take_over(), name="take over the jobs")

    async def _take_over(self) -> None:
        """Derives every job from the rows (catching up) and retries interrupted memos."""
        from bot import capturing, jobs

        try:
            await jobs.rebuild_all(self.application)
        except Exception:
            logger.exception("rebuilding the jobs after taking the lead failed")
        try:
            await capturing.retry_unfinished(self.application)
        except Exception:
            logger.exception("retrying unfinished transcriptions failed")

    async def _step_down(self) -> None:
        if not self.leading:
            return
        from bot.jobs.queue import remove_derived_jobs

        self.leading = False
        if self._taking_over is not None:
            self._taking_over.cancel()
            self._taking_over = None
        removed = remove_derived_jobs(self.application.job_queue)
        logger.warning("this replica stopped running the scheduled jobs (%d dropped)", removed)

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), CHECK_TIMEOUT)
        if conn is not None:
            conn.terminate()

    # ------------------------------------------------------------------ changes from others

    def changed(self, user_id: int) -> None:
        """Tells the leader to derive this person's jobs again (a non-leader changed them)."""
        self._changed.add(user_id)
        if self._notifier is None or self._notifier.done():
            self._notifier = asyncio.create_task(self._flush(), name="notify leader")

    async def _flush(self) -> None:
        """NOTIFYs the leader of every person changed here since the last flush (ids only)."""
        db = self.application.bot_data.sessionmaker
        while self._changed and db is not None:
            user_id = self._changed.pop()
            try:
                async with db() as s, s.begin():
                    await s.execute(
                        text("SELECT pg_notify(:channel, :user)"),
                        {"channel": CHANNEL, "user": str(user_id)},
                    )
            except Exception as exc:
                logger.warning(
                    "could not tell the leader about user %s: %s", user_id, type(exc).__name__
                )

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        if not self.leading or not payload.isdigit():
            return
        task = asyncio.create_task(self.replan(int(payload)), name=f"replan:{payload}")
        self._replans.add(task)
        task.add_done_callback(self._replans.discard)

    async def replan(self, user_id: int) -> None:
        """Derives one person's jobs again from the committed rows (on the leader)."""
        from bot.jobs import reschedule_user
        from bot.jobs.queue import remove_derived_jobs

        if not self.leading:
            return
        remove_derived_jobs(self.application.job_queue, user_id)
        try:
            await reschedule_user(self.application, user_id)
        except Exception:
            logger.exception("could not schedule the jobs of user %s", user_id)
        logger.info("jobs of user %s derived again after a change on another replica", user_id)
