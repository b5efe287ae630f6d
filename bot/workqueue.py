"""Transcription on a real queue (TRANSCRIBE_BACKEND=queue): procrastinate on PostgreSQL.

The bot defers one job per memo (`JobRequest`: ids, the file id, kind, language, where to
keep the audio; never content) and waits for its result; any number of `python -m bot
worker` processes (bot/worker.py), on this machine or others, run the job: download,
transcribe with the same voice pipeline (`voice.listen`) and engine settings, and write the
result once (storage/transcripts.py: the first write per job key wins). Delivery is at least
once: a worker killed mid-job stops sending heartbeats, and another worker puts its job
back in the queue (`retry_stalled`); a transient failure (download, engine) is retried by
procrastinate's RetryStrategy; the last attempt's failure is written as the result, so the
person gets today's failure sentence.

In the bot one poller (`TranscribeQueue`) reads the results of every memo waited for in one
query every POLL_SECONDS, taking (deleting) each as it is read. A memo not answered within
QUEUE_WAIT_SECONDS (no worker running, a long backlog) counts as a transient failure: its
job is cancelled, the capture stays failed, and `/retry` or the startup retry defers it again.
A stopping bot waits STOP_GRACE seconds more for results, then cancels the rest: their
captures stay pending and the next start queues them again. Finished and cancelled jobs are
deleted, so no job row (ids, file ids) outlives its memo.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.voice import Failure, Heard, Memo, NotHeard
from storage.clock import utcnow
from storage.models import CaptureKind
from storage.transcripts import TranscriptResultRepository

if TYPE_CHECKING:
    import procrastinate

logger = logging.getLogger(__name__)

TASK_NAME = "between.transcribe"
QUEUE_NAME = "transcribe"
MAX_ATTEMPTS = 3  # runs of one job: the first and two retries (a stalled one counts too)
RETRY_WAIT = 2  # seconds before a transient failure is tried again
POLL_SECONDS = 0.2  # how often the bot looks for results while it waits for any
SWEEP_EVERY = 60.0  # seconds between sweeps of results nobody came for
STOP_GRACE = 10.0  # seconds a stopping bot still waits for results already being worked on


@dataclass(frozen=True)
class JobRequest:
    """One memo to transcribe, as the job's arguments (ids and settings, never content)."""

    key: str
    user_id: int
    file_id: str
    kind: str
    language: str | None = None
    keep_as: str | None = None
    capture_id: int | None = None
    attempt: int = 0
    queued_at: float = 0.0  # wall clock (time.time()) when deferred: the queue's latency

    @classmethod
    def make(
        cls,
        user_id: int,
        memo: Memo,
        *,
        language: str | None,
        keep_as: Path | None,
        capture: tuple[int, int] | None,
    ) -> JobRequest:
        """The job for `memo`: keyed by capture and attempt, or by person and a fresh id."""
        if capture is not None:
            key, capture_id, attempt = f"capture:{capture[0]}:{capture[1]}", *capture
        else:
            key, capture_id, attempt = f"user:{user_id}:{uuid.uuid4().hex}", None, 0
        return cls(
            key=key,
            user_id=user_id,
            file_id=memo.file_id,
            kind=str(memo.kind),
            language=language,
            keep_as=str(keep_as) if keep_as is not None else None,
            capture_id=capture_id,
            attempt=attempt,
            queued_at=time.time(),
        )

    @property
    def memo(self) -> Memo:
        """The memo to download (its size and duration were checked by the bot)."""
        return Memo(CaptureKind(self.kind), self.file_id, "", None, None)


class TransientFailure(Exception):
    """A failure worth another try (procrastinate retries the job)."""


def build_app(conninfo: str, runner: Any = None) -> procrastinate.App:
    """The procrastinate app with the one task; the bot defers it, workers run it.

    Args:
        conninfo: a libpq URL of the database (Settings.queue_conninfo).
        runner: in a worker, an object with `async run(request, attempts)` (bot/worker.py);
            None in the bot, which never runs the task.
    """
    import procrastinate

    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo, min_size=1, max_size=4)
    )

    @app.task(
        name=TASK_NAME,
        queue=QUEUE_NAME,
        pass_context=True,
        retry=procrastinate.RetryStrategy(
            max_attempts=MAX_ATTEMPTS - 1, wait=RETRY_WAIT, retry_exceptions={TransientFailure}
        ),
    )
    async def transcribe(context: procrastinate.JobContext, /, **kwargs: Any) -> None:
        if runner is None:
            raise RuntimeError("this process defers transcriptions; it does not run them")
        await runner.run(JobRequest(**kwargs), context.job.attempts)

    return app


async def retry_stalled(app: procrastinate.App, stalled_seconds: float) -> int:
    """Puts back in the queue the jobs of workers silent for `stalled_seconds`; how many.

    Every worker runs this every heartbeat; when two find the same job, procrastinate lets
    one put it back and refuses the other (the job is no longer "doing"), which is ignored.
    """
    from procrastinate.exceptions import ConnectorException

    retried = 0
    manager = app.job_manager
    for job in await manager.get_stalled_jobs(
        task_name=TASK_NAME, seconds_since_heartbeat=stalled_seconds
    ):
        try:
            await manager.retry_job(job)
            retried += 1
            logger.warning("job %s of a silent worker is queued again", job.id)
        except ConnectorException as exc:
            logger.debug("job %s was put back by another worker: %s", job.id, type(exc).__name__)
    return retried


class TranscribeQueue:
    """The bot's side: defers jobs and waits for their results with one poller."""

    def __init__(self, settings: Settings, db: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.db = db
        self.app = build_app(settings.queue_conninfo)
        self._waiting: dict[str, asyncio.Future[Heard | NotHeard]] = {}
        self._alive: dict[str, Callable[[], bool]] = {}  # per key: is its application running
        self._stopping: dict[str, float] = {}  # per key: when its application began to stop
        self._jobs: dict[str, int] = {}  # per key: its job's id
        self._poller: asyncio.Task[None] | None = None
        self._swept = 0.0

    async def open(self) -> None:
        """Opens the connection pool the jobs are deferred through."""
        await self.app.open_async()

    async def close(self) -> None:
        """Stops the poller and closes the pool.

        Memos still waited for are cancelled, not failed: their captures stay pending and
        the next start queues them again (a result landing meanwhile is swept).
        """
        if self._poller is not None:
            self._poller.cancel()
        for future in self._waiting.values():
            future.cancel()
        self._waiting.clear()
        await self.app.close_async()

    async def hear(
        self, request: JobRequest, alive: Callable[[], bool] = lambda: True
    ) -> Heard | NotHeard:
        """Defers the job and waits (at most QUEUE_WAIT_SECONDS) for what a worker heard.

        Args:
            request: the job.
            alive: False once the application stops; PTB's stop waits for this call, so
                after STOP_GRACE seconds more it is cancelled (CancelledError): a capture
                stays pending and the next start queues it again.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Heard | NotHeard] = loop.create_future()
        self._waiting[request.key] = future
        self._alive[request.key] = alive
        started = time.perf_counter()
        try:
            job_id = await self.app.configure_task(TASK_NAME).defer_async(**asdict(request))
        except Exception as exc:
            self._waiting.pop(request.key, None)
            self._alive.pop(request.key, None)
            logger.error(
                "could not queue a memo of user %s: %s", request.user_id, type(exc).__name__
            )
            return NotHeard(Failure.TRANSCRIBE_FAILED)
        self._jobs[request.key] = job_id
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="transcript results")
        try:
            heard = await asyncio.wait_for(
                asyncio.shield(future), timeout=self.settings.queue_wait_seconds
            )
        except TimeoutError:
            logger.warning(
                "job %s (user %s) not answered in %.0f s: cancelled, to be retried later",
                job_id,
                request.user_id,
                self.settings.queue_wait_seconds,
            )
            await self._cancel(job_id)
            return NotHeard(Failure.TRANSCRIBE_FAILED)
        finally:
            self._waiting.pop(request.key, None)
            self._alive.pop(request.key, None)
            self._stopping.pop(request.key, None)
            self._jobs.pop(request.key, None)
        logger.info(
            "job %s (user %s) answered after %.2f s", job_id, request.user_id,
            time.perf_counter() - started,
        )  # fmt: skip
        return heard

    async def _cancel(self, job_id: int) -> None:
        try:
            # a queued job is deleted; one being run is asked to stop (deleted when it ends)
            await self.app.job_manager.cancel_job_by_id_async(job_id, abort=True, delete_job=True)
        except Exception as exc:
            logger.warning("could not cancel job %s: %s", job_id, type(exc).__name__)

    async def _poll(self) -> None:
        """While anyone waits: one query for every awaited key, then a short pause."""
        while self._waiting:
            try:
                await self._take()
            except Exception:
                logger.exception("reading transcript results failed; trying again")
            for key in self._due_to_let_go():
                await self._let_go(key)
            await asyncio.sleep(POLL_SECONDS)

    def _due_to_let_go(self) -> list[str]:
        """Keys whose application has been stopping for STOP_GRACE seconds."""
        now, due = time.monotonic(), []
        for key, alive in list(self._alive.items()):
            if alive():
                continue
            since = self._stopping.setdefault(key, now)
            future = self._waiting.get(key)
            if future is not None and not future.done() and now - since > STOP_GRACE:
                due.append(key)
        return due

    async def _let_go(self, key: str) -> None:
        """Cancels the job (first: the pool closes as soon as the wait ends), then the wait."""
        job_id = self._jobs.get(key)
        logger.info("job %s let go: the bot is stopping", job_id)
        if job_id is not None:
            await self._cancel(job_id)  # so no worker hears what nobody waits for
        future = self._waiting.get(key)
        if future is not None:
            future.cancel()

    async def _take(self) -> None:
        async with self.db() as s, s.begin():
            repo = TranscriptResultRepository(s)
            rows = await repo.take(list(self._waiting))
            now = time.monotonic()
            if now - self._swept > SWEEP_EVERY:
                self._swept = now
                keep = timedelta(seconds=max(2 * self.settings.queue_wait_seconds, 3600))
                swept = await repo.sweep(utcnow() - keep)
                if swept:
                    logger.info("swept %d transcript results nobody came for", swept)
        for row in rows:
            future = self._waiting.get(row.key)
            if future is None or future.done():
                continue
            if row.text:
                future.set_result(Heard(row.text, row.seconds, row.audio_path))
            else:
                codes = {f.value: f for f in Failure}
                failure = codes.get(row.failure or "", Failure.TRANSCRIBE_FAILED)
                future.set_result(NotHeard(failure, row.seconds, row.audio_path))
