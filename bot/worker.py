"""`python -m bot worker`: transcribes queued memos (TRANSCRIBE_BACKEND=queue).

One worker process loads and warms the same engine as the bot would (build_transcriber with
the same settings), takes up to TRANSCRIBE_WORKERS jobs at once from procrastinate's queue in
PostgreSQL, and for each: skips it when the bot no longer waits for it (a result is there,
or the capture moved on to another attempt, was fixed or deleted), downloads the file with
PTB's Bot from TELEGRAM_API_BASE_URL, transcribes it (`voice.listen`), and writes the result
once (storage/transcripts.py). Run any number of them, here or on other machines, against
the same DATABASE_URL (and ENCRYPTION_KEY: results are stored encrypted like all text).

Every QUEUE_HEARTBEAT_SECONDS a worker tells the queue it is alive and puts back the jobs of
workers silent for QUEUE_STALLED_SECONDS (`workqueue.retry_stalled`): a worker killed
mid-job leaves its memo to another. Logs carry ids, sizes and timings, never content.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram import Bot

from bot import voice, workqueue
from bot.config import Settings
from bot.keys import verify_key
from bot.transcription import Transcriber, build_transcriber
from storage.captures import CaptureRepository
from storage.db import create_engine, create_sessionmaker, migrate
from storage.encrypted import TextCipher
from storage.models import CaptureStatus
from storage.transcripts import TranscriptResultRepository

if TYPE_CHECKING:
    import procrastinate

logger = logging.getLogger(__name__)


@dataclass
class Runner:
    """What a job needs: the engine, a Bot to download with, and the database."""

    bot: Bot
    transcriber: Transcriber
    db: async_sessionmaker[AsyncSession]

    async def run(self, request: workqueue.JobRequest, attempts: int) -> None:
        """Hears one memo and writes the result once.

        Raises:
            TransientFailure: a download or engine failure with attempts left (retried).
        """
        if not await self._awaited(request):
            logger.info("job %s skipped: nobody waits for it", request.key)
            return
        logger.info(
            "job %s: started (attempt %d), %.3f s after it was queued",
            request.key,
            attempts + 1,
            time.time() - request.queued_at,  # clocks of different machines may differ
        )
        started = time.perf_counter()
        keep_as = Path(request.keep_as) if request.keep_as else None
        heard = await voice.listen(
            self.bot, self.transcriber, request.memo, language=request.language, keep_as=keep_as
        )
        wall = time.perf_counter() - started
        if isinstance(heard, voice.NotHeard):
            logger.info("job %s: done, not heard (%s) in %.2f s", request.key, heard.failure, wall)
            if heard.failure.transient and attempts < workqueue.MAX_ATTEMPTS - 1:
                raise workqueue.TransientFailure(heard.failure.value)
            text, failure = None, heard.failure.value
        else:
            logger.info("job %s: done, %.1f s audio in %.2f s", request.key, heard.seconds, wall)
            text, failure = heard.text, None
        try:
            async with self.db() as s, s.begin():
                first = await TranscriptResultRepository(s).write_first(
                    request.key,
                    request.user_id,
                    text=text,
                    failure=failure,
                    seconds=heard.seconds,
                    audio_path=heard.audio_path,
                )
        except IntegrityError:  # the person was deleted meanwhile (foreign key)
            logger.info("job %s: its person is gone; result dropped", request.key)
            return
        if not first:
            logger.info("job %s: a result was written already; this one dropped", request.key)

    async def _awaited(self, request: workqueue.JobRequest) -> bool:
        """False when the job's result is there or its capture no longer waits for it."""
        async with self.db() as s:
            if await TranscriptResultRepository(s).exists(request.key):
                return False
            if request.capture_id is None:
                return True
            capture = await CaptureRepository(s).get(request.user_id, request.capture_id)
        return (
            capture is not None
            and capture.status == CaptureStatus.PENDING
            and capture.attempts == request.attempt
        )


async def open_worker_database(settings: Settings) -> AsyncEngine:
    """The engine with the cipher, checked against the canary, migrated (idempotent)."""
    cipher = TextCipher(settings.encryption_keys) if settings.encryption_keys else None
    engine = create_engine(settings.database_url, cipher)
    try:
        await verify_key(engine, cipher)  # a wrong key would write text the bot cannot read
        await migrate(engine)
    except BaseException:
        await engine.dispose()
        raise
    return engine


async def run_worker(settings: Settings) -> None:
    """Runs one worker process until SIGINT or SIGTERM (jobs in hand are finished first)."""
    conninfo = settings.queue_conninfo  # ConfigError unless PostgreSQL
    root = settings.telegram_api_base_url
    engine = await open_worker_database(settings)
    transcriber = await asyncio.to_thread(build_transcriber, settings)
    try:
        await transcriber.warm()
        bot = Bot(settings.token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot")
        runner = Runner(bot, transcriber, create_sessionmaker(engine))
        app = workqueue.build_app(conninfo, runner)
        async with bot, app.open_async():
            watcher = asyncio.create_task(_watch_stalled(app, settings), name="stalled jobs")
            logger.info(
                "worker up: %d at once, heartbeat %.1f s, stalled after %.1f s",
                settings.transcribe_workers,
                settings.queue_heartbeat_seconds,
                settings.queue_stalled_seconds,
            )
            try:
                await app.run_worker_async(
                    queues=[workqueue.QUEUE_NAME],
                    concurrency=settings.transcribe_workers,
                    update_heartbeat_interval=settings.queue_heartbeat_seconds,
                    stalled_worker_timeout=settings.queue_stalled_seconds,
                    fetch_job_polling_interval=settings.queue_heartbeat_seconds,
                    delete_jobs="always",  # job rows (ids, file ids) go with their memo
                    install_signal_handlers=True,
                )
            finally:
                watcher.cancel()
    finally:
        transcriber.close()
        await engine.dispose()


async def _watch_stalled(app: procrastinate.App, settings: Settings) -> None:
    """Every heartbeat, puts back the jobs of workers that went silent."""
    while True:
        await asyncio.sleep(settings.queue_heartbeat_seconds)
        try:
            await workqueue.retry_stalled(app, settings.queue_stalled_seconds)
        except Exception:
            logger.exception("looking for stalled jobs failed; trying again")
