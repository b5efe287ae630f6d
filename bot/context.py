"""The typed context every handler and job receives: `context.db`, `.transcriber`, `.settings`,
`.person` (what this person's open conversations remember) and `.application`.

Services live in one `Services` object used as PTB's `bot_data`, created by `build_application`
and filled in `post_init` (database, Whisper model), so nothing is built at import time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from bot.errors import NoPersonError
from storage.persistence import PersonData

if TYPE_CHECKING:
    from bot.leader import Leadership
    from bot.transcription import Transcriber
    from bot.workqueue import TranscribeQueue

FIRINGS_AT_ONCE = 16


@dataclass
class Services:
    """Shared clients and runtime state for the whole application (one per process).

    What runs at startup and which jobs exist is wired in bot/app.py and bot/jobs, not here.
    """

    settings: Settings
    engine: AsyncEngine | None = None
    sessionmaker: async_sessionmaker[AsyncSession] | None = None
    transcriber: Transcriber | None = None
    warming: asyncio.Task[None] | None = None  # the model's warm-up pass, started at load
    # TRANSCRIBE_BACKEND=queue: memos go to worker processes instead of `transcriber`
    transcribe_queue: TranscribeQueue | None = None
    # capture ids being transcribed right now, so /retry and the startup retry never work on
    # the same memo twice at once (a restart starts empty)
    transcribing: set[int] = field(default_factory=set)
    # scheduled jobs doing their work at once (bot.jobs.queue.in_slot): enough to keep
    # Telegram's 30 messages/s busy at its round trip, few enough that SQLite's write lock is
    # seldom waited on past busy_timeout (then the work runs again: storage.db.busy_retry)
    firings: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(FIRINGS_AT_ONCE))
    # on PostgreSQL: whether this replica runs the scheduled jobs (bot/leader.py); None on
    # SQLite, where the one process always does
    leadership: Leadership | None = None


class BotContext(CallbackContext[ExtBot[None], PersonData, dict[Any, Any], Services]):
    """CallbackContext with typed access to the services the handlers need."""

    @property
    def application(self) -> BetweenApp:  # type: ignore[override]  # PTB's is generic in ST
        """The running Application, typed as this bot's (PTB types it generically)."""
        return cast("BetweenApp", self._application)

    @property
    def person(self) -> PersonData:
        """This update's person's conversation memory (every flow's update has a person)."""
        data = self.user_data
        if data is None:
            raise NoPersonError(-1)
        return data

    @property
    def services(self) -> Services:
        return self.bot_data

    @property
    def settings(self) -> Settings:
        return self.bot_data.settings

    @property
    def db(self) -> async_sessionmaker[AsyncSession]:
        """The async session factory: `async with context.db() as s, s.begin(): ...`."""
        if self.bot_data.sessionmaker is None:
            raise RuntimeError("database is not open yet (post_init has not run)")
        return self.bot_data.sessionmaker

    @property
    def transcriber(self) -> Transcriber:
        if self.bot_data.transcriber is None:
            raise RuntimeError("transcriber is not loaded yet (post_init has not run)")
        return self.bot_data.transcriber


BetweenApp = Application[ExtBot[None], BotContext, PersonData, dict[Any, Any], Services, Any]
