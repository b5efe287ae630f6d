"""Composition root: settings, database, transcriber, scheduler and handlers in one Application.

Nothing here runs at import time. `build_application()` wires the flows' handlers in one
ordered list; `post_init` opens the database (migrating it), loads the Whisper model once,
derives every scheduled job from the rows (`bot.jobs.JOBS`, then tidy mode) and retries
unfinished transcriptions (with several replicas on PostgreSQL, only the one that holds the
scheduler lock does those two: bot/leader.py); `post_shutdown` closes them. `python -m bot`
also freezes what startup left alive out of the garbage collector's way.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings
from typing import cast

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationBuilder, ContextTypes, TypeHandler
from telegram.warnings import PTBUserWarning

from bot import capturing, conversation_timeouts, jobs, texts
from bot.config import Settings
from bot.context import BetweenApp, BotContext, Services
from bot.http_client import AiohttpRequest
from bot.keys import ensure_canary, verify_key
from bot.leader import Leadership, postgres_dsn
from bot.ordering import PerPersonOrder
from bot.replicas import HoldingJobQueue, HoldingQueue, Holds
from bot.retry import RetryingRateLimiter
from storage.db import create_engine, create_sessionmaker, migrate
from storage.encrypted import TextCipher
from storage.persistence import DatabasePersistence

logger = logging.getLogger(__name__)

PERSIST_GROUP = 100  # after every flow's handlers


async def open_database(services: Services) -> None:
    """Creates the engine, applies migrations and the session factory (idempotent)."""
    if services.sessionmaker is not None:
        return
    settings = services.settings
    cipher = TextCipher(settings.encryption_keys) if settings.encryption_keys else None
    engine = create_engine(settings.database_url, cipher)
    try:
        await verify_key(engine, cipher)  # before migrating: a wrong key changes nothing
        await migrate(engine)
        await ensure_canary(engine, cipher)
    except BaseException:
        await engine.dispose()
        raise
    services.engine = engine
    services.sessionmaker = create_sessionmaker(engine)


async def load_transcriber(services: Services) -> None:
    """Loads the Whisper model once, off the event loop (it takes a second or two), then
    warms it in its own worker pool while polling starts: the first memo would otherwise
    be about 1.7x slower, and it queues behind the warm-up instead."""
    if services.settings.transcribe_backend == "queue":
        await open_queue(services)  # workers load the model; this process never does
        return
    if services.transcriber is not None:
        return
    from bot.transcription import build_transcriber

    services.transcriber = await asyncio.to_thread(build_transcriber, services.settings)
    services.warming = asyncio.create_task(services.transcriber.warm(), name="warm whisper")


async def open_queue(services: Services) -> None:
    """TRANSCRIBE_BACKEND=queue: opens the pool memos are queued through (bot/workqueue.py)."""
    if services.transcribe_queue is not None or services.sessionmaker is None:
        return
    from bot.workqueue import TranscribeQueue

    queue = TranscribeQueue(services.settings, services.sessionmaker)
    await queue.open()
    services.transcribe_queue = queue


async def register_commands(application: BetweenApp) -> None:
    """Publishes the command list; a Bot API that refuses it only costs a warning."""
    commands = [BotCommand(name, description) for name, description in texts.COMMANDS]
    try:
        await application.bot.set_my_commands(commands)
    except TelegramError as exc:
        logger.warning("setMyCommands failed, running on without it: %s", type(exc).__name__)


async def post_init(application: BetweenApp) -> None:
    """Opens shared clients, then catches up with what happened while the bot was down."""
    services = application.bot_data
    await open_database(services)
    if isinstance(application.update_processor, PerPersonOrder):
        holds = application.update_processor.holds
        if holds is not None:
            await holds.start(application)  # on PostgreSQL: replicas hold people (replicas.py)
    await load_transcriber(services)
    await register_commands(application)
    if isinstance(application.persistence, DatabasePersistence):
        conversation_timeouts.restore(application, application.persistence)
    await run_scheduler(application)


async def run_scheduler(application: BetweenApp) -> None:
    """Derives every scheduled job from the rows and retries interrupted memos, here or, with
    several replicas on PostgreSQL, on the one replica that holds the scheduler lock."""
    services = application.bot_data
    dsn = postgres_dsn(services.settings.database_url)
    if dsn is not None:
        services.leadership = Leadership(
            application, dsn, services.settings.scheduler_check_seconds
        )
        await services.leadership.start()  # if it leads, it does the two steps below itself
        return
    await jobs.rebuild_all(application)  # every scheduled job, from the rows (bot/jobs)
    try:
        await capturing.retry_unfinished(application)  # memos a crash or restart interrupted
    except Exception:
        logger.exception("retrying unfinished transcriptions failed")


def freeze_startup_heap() -> None:
    """Moves every object alive after startup out of the cyclic garbage collector's sight.

    What startup made (modules, SQLAlchemy mappers, PTB handlers, the model's Python side:
    some 170,000 tracked objects) lives as long as the process, yet every full collection
    walks all of it while holding the GIL. faster-whisper's decode_audio runs one
    (gc.collect()) for every memo, in the transcription thread, so the event loop stood
    still for ~100 ms per memo on two busy cores (bench/latency.py); frozen, a collection
    walks only what was made since. For the bot's own process only (`python -m bot`):
    frozen objects that later become cyclic garbage are never freed, so a process that
    builds many applications (the tests) must not freeze each one.
    """
    gc.collect()
    gc.freeze()


async def post_init_and_freeze(application: BetweenApp) -> None:
    """`post_init`, then `freeze_startup_heap` (the one application of `python -m bot`)."""
    await post_init(application)
    freeze_startup_heap()


async def persist_now(update: Update, context: BotContext) -> None:
    """Writes changed conversation states and user_data at once, not on PTB's 1 s timer.

    Runs after every flow (the last handler group), so a crash right after the bot asked the
    next question loses milliseconds, not a whole step of a conversation.
    """
    if update.effective_user is not None:
        context.application.mark_data_for_update_persistence(user_ids=update.effective_user.id)
    await context.application.update_persistence()


async def post_shutdown(application: BetweenApp) -> None:
    """Lets go of held people, closes the database and releases the Whisper model."""
    services = application.bot_data
    if services.leadership is not None:
        await services.leadership.stop()  # lets go of the scheduler lock at once
        services.leadership = None
    if isinstance(application.update_processor, PerPersonOrder):
        holds = application.update_processor.holds
        if holds is not None:
            await holds.stop()
    if services.transcriber is not None:
        services.transcriber.close()
    if services.transcribe_queue is not None:
        await services.transcribe_queue.close()
        services.transcribe_queue = None
    if services.engine is not None:
        await services.engine.dispose()
        services.engine = None
        services.sessionmaker = None


def build_application(
    settings: Settings, services: Services | None = None, *, freeze_heap: bool = False
) -> BetweenApp:
    """Builds the PTB Application with every flow's handlers registered.

    Args:
        settings: validated settings; the token must be set.
        services: pre-built services (tests share one loaded Whisper model); default new.
        freeze_heap: after post_init, freeze what startup left alive (`freeze_startup_heap`);
            only for a process that runs this one application.
    """
    from handlers import (
        access,
        capture,
        edits,
        errors,
        fallbacks,
        fix,
        flood,
        help,
        moments,
        privacy,
        recall,
        reflection,
        schedule,
        snooze,
        start,
        triggers,
    )
    from handlers import settings as settings_flow

    # Our conversations mix message and button steps per chat (per_message=False on purpose).
    warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
    services = services or Services(settings=settings)
    persistence = DatabasePersistence(services, open_database)
    root = settings.telegram_api_base_url
    # PTB asks for a bot_data class to instantiate; this factory hands out the one Services
    context_types = ContextTypes(context=BotContext, bot_data=lambda: services)  # type: ignore[call-overload]
    holds = Holds()  # on only with PostgreSQL, where replicas may share the database
    # PTB's builder types its result generically; it is built with exactly BetweenApp's parts
    application = cast(
        "BetweenApp",
        ApplicationBuilder()
        .token(settings.token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .context_types(context_types)
        .request(AiohttpRequest())  # httpx's pool costs the loop more per request in flight
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
        .rate_limiter(RetryingRateLimiter(max_retries=3))  # answers outside the 30/s budget
        .concurrent_updates(PerPersonOrder(holds=holds))  # people in parallel, each in order
        .update_queue(HoldingQueue(holds))  # a replica takes the person before accepting
        .job_queue(HoldingJobQueue())  # jobs send within the budget; timeouts hold their person
        .post_init(post_init_and_freeze if freeze_heap else post_init)
        .post_shutdown(post_shutdown)
        .persistence(persistence)
        .build(),
    )
    # Order matters: the first matching handler in a group wins, so conversations that take
    # free text come before capture, which keeps any other text or voice as a capture.
    flows = (
        access,
        flood,
        privacy,
        start,
        settings_flow,
        help,
        schedule,  # /session, and the answer to "When is your next session?" (group -2)
        reflection,
        moments,  # before triggers, whose catch-all answers stale tg: buttons
        triggers,
        recall,
        snooze,  # the Later buttons under pings and the evening prompt
        fix,  # the ✎ Fix conversation, before capture takes any other text
        capture,
        edits,
        fallbacks,  # answers what no flow took: last
    )
    for flow in flows:
        flow.register(application)
    persistence.timeouts = conversation_timeouts.persisted_timeouts(application)
    application.add_handler(TypeHandler(Update, persist_now), group=PERSIST_GROUP)
    errors.register(application)
    return application
